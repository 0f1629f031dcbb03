"""FanDuel lineups beside the DraftKings portfolio: 5 drivers, FanDuel's $50,000 cap, FanDuel
points, exact optimizer. Pure.

With the race's FanDuel slate in the snapshot (`fd_salary`/`fd_id`, from `ingest fd-salaries`)
the lineups use its salaries and player ids (salary_source "fanduel"). Without it, salaries are
a stand-in (DraftKings x 6/5, to $100), ids are null and the upload file carries names, which
FanDuel will not accept (salary_source "stand-in", said in the notes).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from nascar_pipeline.core import rules
from nascar_pipeline.core.lineups import lineup_frame, lineup_problems
from nascar_pipeline.core.slate import float_array, has_fanduel_slate, slate_arrays

FD_STAND_IN = 6 / 5  # FanDuel salary stand-in: DraftKings salary x 6/5 (5 drivers share the cap)
FD_ID_PATTERN = re.compile(r"^\d+-\d+$")  # a FanDuel player id: <slate>-<player>
STAND_IN_NOTE = (
    "FanDuel salaries are not in the ontology for this race (ingest them with "
    "`nascar-pipeline ingest fd-salaries`): lineups use a stand-in (DraftKings "
    "salary x 6/5) and the FanDuel upload file is NOT uploadable"
)


def is_fanduel_id(cell) -> bool:
    """Whether a cell is a FanDuel player id (`123456-78901`), not a name."""
    return cell is not None and not pd.isna(cell) and bool(FD_ID_PATTERN.match(str(cell).strip()))


def fanduel_portfolio(
    snapshot: pd.DataFrame,
    scenarios: pd.DataFrame,
    k: int,
    max_exposure: float = 0.6,
    max_shared: int = 3,
) -> tuple[pd.DataFrame, list[str]]:
    """FanDuel lineups maximizing mean FanDuel points (`fd_points` of the scenarios), as a
    lineup frame (d{j}_fd_id; plus salary_source), and notes for the operator."""
    from nascar_pipeline.core.optimize import optimize_lineups

    site = rules.FANDUEL
    slate, points = slate_arrays(snapshot, scenarios, None, site="fanduel")
    notes = []
    real = has_fanduel_slate(snapshot)
    if real:
        sal = float_array(slate["fd_salary"])
        ids = slate["fd_id"]
    else:
        sal = np.round(float_array(slate["salary"]) * FD_STAND_IN / 100.0) * 100.0
        ids = pd.Series([None] * len(slate))
        notes.append(STAND_IN_NOTE)
    res = optimize_lineups(
        points.mean(axis=0),
        sal,
        site.roster_size,
        site.salary_cap,
        k=k,
        max_exposure=max_exposure,
        max_shared=max_shared,
    )
    L = np.asarray(res.lineups, dtype=np.int64).reshape(-1, site.roster_size)
    fd_ids = [None if pd.isna(v) else str(v) for v in ids]
    df = lineup_frame(L, slate, site.name, sal, fd_ids, "fd_id", points.mean(axis=0).astype(float))
    df["salary_source"] = "fanduel" if real else "stand-in"
    return df, notes


def fanduel_problems(df: pd.DataFrame) -> list[str]:
    """FanDuel lineups valid for FanDuel: 5 distinct drivers, salary <= $50,000, every driver
    with a salary; lineups on FanDuel salaries also carry a FanDuel player id in every cell."""
    problems = lineup_problems(df, rules.FANDUEL)
    if problems or "salary_source" not in df or not (df["salary_source"] == "fanduel").any():
        return problems
    for i, row in df.reset_index(drop=True).iterrows():
        bad = [
            row[f"d{j}_name"]
            for j in range(1, rules.FANDUEL.roster_size + 1)
            if not is_fanduel_id(row[f"d{j}_fd_id"])
        ]
        if bad:
            problems.append(f"fanduel lineup {i}: no valid FanDuel id for {', '.join(bad)}")
    return problems
