"""A race's slate, read from its race_snapshot table, as the arrays the core
functions take (its contests: core/contests.py). Pure: DataFrames in, arrays and frames out.

The slate: the snapshot's entry rows with a salary for the site, in driver_id order; the
scenario points matrix has one column per slate driver in that order, so index j of a lineup
means the same driver in the slate, the points matrix, the salaries and the ownership.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nascar_pipeline.core import rules


def entry_rows(snapshot: pd.DataFrame) -> pd.DataFrame:
    """The race's own entries (role == "entry")."""
    return snapshot[snapshot["role"] == "entry"]


def history_rows(snapshot: pd.DataFrame) -> pd.DataFrame:
    """Results of the races before the race (role == "history")."""
    return snapshot[snapshot["role"] == "history"]


def float_array(col: pd.Series) -> np.ndarray:
    """A nullable column as float64 with NaN for missing values."""
    return (
        pd.to_numeric(col, errors="coerce").astype("Float64").to_numpy(np.float64, na_value=np.nan)
    )


def has_fanduel_slate(snapshot: pd.DataFrame) -> bool:
    """Whether the race's FanDuel slate (fd_salary and fd_id) is in the snapshot."""
    e = entry_rows(snapshot)
    return "fd_salary" in e and "fd_id" in e and bool(e["fd_salary"].notna().any())


def slate_arrays(
    snapshot: pd.DataFrame,
    scenarios: pd.DataFrame,
    projections: pd.DataFrame | None = None,
    site: str = "draftkings",
) -> tuple[pd.DataFrame, np.ndarray]:
    """The slate (entry rows with a salary, in driver_id order, plus a `projection` column) and
    its (S, D) points matrix.

    Adapter from the race_scenarios long table (sorted by scenario, driver_id) to the matrix the
    core functions take; drivers without a salary are not on the slate and are dropped. The
    projection is driver_projections' mean for the site, else the scenarios' mean.
    """
    e = entry_rows(snapshot)
    col = "dk_points" if rules.get_site(site).name == "draftkings" else "fd_points"
    if col == "fd_points" and has_fanduel_slate(snapshot):
        # the FanDuel slate: drivers with a FanDuel salary (ingested with `ingest fd-salaries`)
        e = e[e["fd_salary"].notna()].sort_values("driver_id").reset_index(drop=True)
    else:
        e = e[e["salary"].notna()].sort_values("driver_id").reset_index(drop=True)
    if e.empty:
        raise ValueError(
            "no entry has a salary: the slate is not ingested yet "
            f"(`nascar-pipeline ingest {'fd-salaries' if col == 'fd_points' else 'salaries'}`)"
        )
    wide = scenarios.pivot(index="scenario", columns="driver_id", values=col).sort_index(axis=1)
    missing = sorted(set(e["driver_id"].astype("int64")) - set(wide.columns.astype("int64")))
    if missing:
        raise ValueError(f"drivers on the slate without scenarios: {missing[:10]}")
    ids = e["driver_id"].astype("int64").to_numpy()
    points = wide[ids].to_numpy(dtype=np.float32)
    if projections is not None and len(projections):
        proj = projections.set_index("driver_id")["dk_mean" if col == "dk_points" else "fd_mean"]
        e["projection"] = e["driver_id"].map(proj).astype(float)
    else:
        e["projection"] = points.mean(axis=0).astype(float)
    e["projection"] = e["projection"].fillna(pd.Series(points.mean(axis=0), index=e.index))
    return e, points


def unpriced(entries: pd.DataFrame) -> bool:
    """An entry list DraftKings has not priced yet: entries, none with a salary. The snapshot's
    salary check lets it through to the model; the pre-lock schedule waits for its salaries."""
    if len(entries) == 0:
        return False
    return "salary" not in entries or bool(entries["salary"].isna().all())


def dk_salary_slate(snapshot: pd.DataFrame) -> pd.DataFrame:
    """The DraftKings slate without scenarios: entries with a salary, in driver_id order."""
    e = entry_rows(snapshot)
    return e[e["salary"].notna()].sort_values("driver_id").reset_index(drop=True)


def slate_ownership(slate: pd.DataFrame, ownership_projections: pd.DataFrame) -> np.ndarray:
    """Projected ownership (own_pct) of each slate driver, 0 for drivers without one."""
    own = slate["driver_id"].map(ownership_projections.set_index("driver_id")["own_pct"])
    return own.fillna(0.0).to_numpy(float)


@dataclass
class FieldDraw:
    lineups: np.ndarray  # (n, R) driver indices
    warnings: list[str] = field(default_factory=list)  # adjustments, for the run log and metadata


def draw_field(
    own,
    salaries,
    n_lineups: int,
    field_min_salary: float,
    rng,
    *,
    setting: str,
    names=None,
    projections=None,
) -> FieldDraw:
    """The contest field on the DraftKings roster, its salary floor the `field_min_salary` of the
    asset's run config: core/field.py build_field, the field built the way real players build
    (most of the cap spent, the projected ownership matched, popular optimizer lineups
    duplicated), calibrated on real contests (benchmarks/bench_field.py). Never fails a race: a
    floor no lineup reaches is lowered and a degenerate ownership tempered, each adjustment a
    warning naming `setting` (e.g. 'contest_simulation run config field_min_salary').

    projections: what the field's optimizer users build from (default: the ownership, i.e. the
    chalk). The old slot-by-slot generator, core/contest.py generate_field, stays for comparison
    (bench_field.py)."""
    from nascar_pipeline.core.field import build_field

    site = rules.DRAFTKINGS
    built = build_field(
        own,
        np.asarray(salaries, dtype=float),
        site.roster_size,
        site.salary_cap,
        n_lineups,
        field_min_salary=field_min_salary,
        projections=projections,
        names=names,
        rng=rng,
    )
    warns = [_name_setting(w, setting) for w in built.warnings]
    if warns:  # first, which field and floor the adjustments below belong to
        warns.insert(
            0,
            f"the field under {setting} {field_min_salary:,.0f} was built with the ownership or "
            "the floor adjusted:",
        )
    return FieldDraw(built.lineups, warns)


def _name_setting(warning: str, setting: str) -> str:
    """A floor warning names the run-config setting to change (the others are about the
    ownership, not a setting)."""
    if warning.startswith("field_min_salary "):
        return setting + warning[len("field_min_salary") :]
    return warning


def resolve_overrides(overrides: dict[str, float], slate: pd.DataFrame) -> dict[int, float]:
    """Ownership overrides keyed by driver_id (as text) or driver name -> slate index -> pct.
    Raises ValueError naming an override that matches no driver on the slate."""
    by_id = {str(int(d)): i for i, d in enumerate(slate["driver_id"])}
    by_name = {str(n).strip().lower(): i for i, n in enumerate(slate["driver_name"])}
    out: dict[int, float] = {}
    for key, pct in (overrides or {}).items():
        k = str(key).strip()
        i = by_id.get(k, by_name.get(k.lower()))
        if i is None:
            raise ValueError(f"run config ownership override {key!r}: no such driver on the slate")
        out[i] = float(pct)
    return out
