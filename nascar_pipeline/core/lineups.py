"""Lineup frames: lineups as rows (one per lineup, wide: d1..dR), their upload cells, and the
rules every lineup must meet on its site. Pure.

A lineup frame has lineup_id, site, and per slot j = 1..R: d{j}_driver_id, d{j}_name,
d{j}_<site id> (dk_id on DraftKings, fd_id on FanDuel), d{j}_salary; then salary and projection.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nascar_pipeline.core import rules


def driver_id_columns(df: pd.DataFrame) -> list[str]:
    """The frame's d{j}_driver_id columns, in slot order."""
    return [c for c in df.columns if c.startswith("d") and c.endswith("_driver_id")]


def lineup_frame(
    lineups: np.ndarray,
    slate: pd.DataFrame,
    site: str,
    salaries: np.ndarray,
    ids: pd.Series | np.ndarray,
    id_column: str,
    projection: np.ndarray,
) -> pd.DataFrame:
    """Lineups (K, R) of slate indices as a lineup frame; `ids` are the site's player ids of
    the slate drivers (nullable), written as d{j}_<id_column>."""
    L = np.asarray(lineups, dtype=np.int64)
    df = pd.DataFrame({"lineup_id": np.arange(len(L), dtype=np.int64), "site": site})
    driver_ids = slate["driver_id"].to_numpy(np.int64)
    names = slate["driver_name"].astype(str).to_numpy()
    ids = np.asarray(ids, dtype=object)
    id_dtype = "Int64" if id_column == "dk_id" else "string"
    for j in range(L.shape[1]):
        idx = L[:, j]
        df[f"d{j + 1}_driver_id"] = driver_ids[idx]
        df[f"d{j + 1}_name"] = names[idx]
        df[f"d{j + 1}_{id_column}"] = pd.array(ids[idx], dtype=id_dtype)
        df[f"d{j + 1}_salary"] = salaries[idx].astype(np.int64)
    df["salary"] = salaries[L].sum(axis=1).astype(np.int64) if len(L) else np.zeros(0, np.int64)
    df["projection"] = projection[L].sum(axis=1) if len(L) else np.zeros(0)
    return df


def draftkings_lineup_frame(lineups: np.ndarray, slate: pd.DataFrame) -> pd.DataFrame:
    """DraftKings lineups over a slate (from core/slate.py: salary, dk_id, projection)."""
    return lineup_frame(
        lineups,
        slate,
        rules.DRAFTKINGS.name,
        slate["salary"].to_numpy(np.int64),
        slate["dk_id"].to_numpy(),
        "dk_id",
        slate["projection"].to_numpy(float),
    )


def lineup_cells(df: pd.DataFrame, id_column: str = "dk_id") -> list[list[tuple[str, object]]]:
    """Rows of a lineup frame -> [(name, site id or None), ...] per lineup (upload cells)."""
    R = len(driver_id_columns(df))
    out = []
    for _, row in df.iterrows():
        cells = []
        for j in range(1, R + 1):
            pid = row[f"d{j}_{id_column}"]
            cells.append((row[f"d{j}_name"], None if pd.isna(pid) else pid))
        out.append(cells)
    return out


def slate_indices(df: pd.DataFrame, slate: pd.DataFrame) -> np.ndarray:
    """The frame's lineups as (K, R) indices into the slate (its driver_id order)."""
    pos = {int(d): i for i, d in enumerate(slate["driver_id"])}
    return np.vectorize(lambda d: pos[int(d)])(df[driver_id_columns(df)].to_numpy())


def lineup_problems(df: pd.DataFrame, site: rules.Site = rules.DRAFTKINGS) -> list[str]:
    """Every lineup valid for its site: roster size, cap, distinct drivers with a salary."""
    cols = driver_id_columns(df)
    problems = []
    if len(cols) != site.roster_size:
        problems.append(f"{len(cols)} driver columns, {site.name} needs {site.roster_size}")
        return problems
    ids = df[cols].to_numpy()
    sals = df[[c.replace("_driver_id", "_salary") for c in cols]].to_numpy(float)
    for i in range(len(df)):
        if len(set(ids[i].tolist())) != site.roster_size:
            problems.append(f"lineup {i}: repeated driver")
        if sals[i].sum() > site.salary_cap:
            problems.append(f"lineup {i}: salary {sals[i].sum():.0f} over {site.salary_cap}")
        if np.any(sals[i] <= 0):
            problems.append(f"lineup {i}: driver without a salary")
    return problems
