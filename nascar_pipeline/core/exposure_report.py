"""The exposure and leverage report of a build, per contest. Pure (pandas, NumPy).

Two tables, one block of rows per contest (`contest_id`; the build's portfolio and contest
simulation carry it when the race has several contests, else the whole race is one contest,
`WHOLE_RACE`):

- drivers: per slate driver our exposure (share of the contest's lineups that hold him), the
  limits the steering asked (min / max exposure with the global cap applied, lock, exclude, the
  groups he is in), the field's projected ownership, leverage = exposure - ownership (percentage
  points: positive where we hold him more than the field does) and his projected DK points;
- lineups: per lineup its drivers, salary, projection, ceiling (the CEILING_QUANTILE of the
  lineup's DK points over the scenarios), and the contest simulation's ROI, cash / win / top-1 %,
  simulated duplicates and honest ROI (its columns as the simulation names them, when present).

Exposures and limits are shares of the lineups *returned* (as core/steering.py counts them), in
percent like the ownership, so the two compare directly. `format_report` renders both tables
compactly for a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from nascar_pipeline.core.steering import Steering

WHOLE_RACE = "race"  # contest_id of a build without contest ids: one portfolio for the race
REPORT_ASSET = "exposure_report"  # the asset: the driver table; the lineup table beside it
# Beside the asset: `<root>/exposure_report/<race>.lineups.pq` (Parquet; not `.parquet`, which
# the IO manager keeps for the asset's own file and leaves out of the manifest's extra files).
LINEUPS_FILE = "lineups.pq"
CEILING_QUANTILE = 0.9
_EPS = 1e-9

LIMIT_COLUMNS = [
    "min_exposure_pct",  # asked (a lock is 100); NaN without steering
    "max_exposure_pct",  # asked: his own max, else the global cap (exclude 0); NaN without
    "locked",
    "excluded",
    "groups",  # the steering's groups he is in, comma-separated
    "limit",  # the limits in words ("lock", "max 30%", "max 60% (global)", ...)
]
CONTEST_COLUMNS = ["contest_name", "entry_fee", "field_size"]  # from the snapshot's contests
DRIVER_COLUMNS = [
    "contest_id",
    "contest_name",
    "driver_id",
    "driver_name",
    "salary",
    "lineups",  # lineups of the contest that hold him
    "n_lineups",  # lineups of the contest
    "exposure_pct",
    *LIMIT_COLUMNS,
    "own_pct",  # projected field ownership
    "leverage_pct",  # exposure_pct - own_pct
    "projection",  # projected DK points (mean)
    "ceiling",  # his DK points' 90th percentile (driver_projections dk_p90)
]

# the contest simulation's per-lineup columns the report carries, when present
SIMULATION_COLUMNS = ["roi", "cash_pct", "win_pct", "top1_pct", "sim_duplicates"]
LINEUP_COLUMNS = [
    "contest_id",
    "contest_name",
    "lineup_id",
    "drivers",  # names, in roster-slot order, ", "-separated
    "driver_ids",  # NASCAR driver ids, same order, ","-separated
    "salary",
    "projection",
    "ceiling",
    *SIMULATION_COLUMNS,
]


@dataclass(frozen=True)
class ExposureReport:
    drivers: pd.DataFrame  # DRIVER_COLUMNS
    lineups: pd.DataFrame  # LINEUP_COLUMNS, then honest_* columns when the simulation has them

    @property
    def contests(self) -> list[str]:
        return list(dict.fromkeys(self.lineups["contest_id"].tolist()))


# ----------------------------------------------------------------------------- inputs


def contest_column(df: pd.DataFrame) -> pd.Series:
    """The frame's contest ids as strings (WHOLE_RACE where it has none)."""
    if "contest_id" not in df.columns:
        return pd.Series(WHOLE_RACE, index=df.index, dtype=object)
    return df["contest_id"].astype(object).where(df["contest_id"].notna(), WHOLE_RACE).astype(str)


def snapshot_contests(snapshot: pd.DataFrame | None) -> pd.DataFrame:
    """The race's contests as core/contests.py reads them from its race_snapshot (the stated
    default contest when none was ingested): contest_id, contest_name, entry_fee, field_size."""
    from nascar_pipeline.core.contests import contests_from_snapshot

    found = contests_from_snapshot(snapshot) if snapshot is not None and len(snapshot) else []
    return pd.DataFrame(
        {
            "contest_id": [c.contest_id for c in found],
            "contest_name": [c.name or None for c in found],
            "entry_fee": [c.entry_fee for c in found],
            "field_size": [c.field_size for c in found],
        },
        columns=["contest_id", *CONTEST_COLUMNS],
    )


def _contest_names(contests: pd.DataFrame | None) -> dict[str, str]:
    if contests is None or contests.empty or "contest_name" not in contests.columns:
        return {}
    named = contests[contests["contest_name"].notna()]
    return dict(zip(named["contest_id"].astype(str), named["contest_name"].astype(str)))


def _slot_columns(portfolio: pd.DataFrame) -> list[str]:
    cols = [c for c in portfolio.columns if c.startswith("d") and c.endswith("_driver_id")]
    return sorted(cols, key=lambda c: int(c[1 : -len("_driver_id")]))


def _ownership_pct(ownership: pd.DataFrame | None) -> pd.Series:
    """driver_id -> projected field ownership in percent (own_pct; dk_own_pct in older frames)."""
    if ownership is None or ownership.empty:
        return pd.Series(dtype=float)
    col = "own_pct" if "own_pct" in ownership.columns else "dk_own_pct"
    ids = ownership["driver_id"].astype("int64")
    return pd.Series(pd.to_numeric(ownership[col], errors="coerce").to_numpy(float), index=ids)


def _driver_universe(
    portfolio: pd.DataFrame, ownership: pd.DataFrame | None, projections: pd.DataFrame | None
) -> pd.DataFrame:
    """Every slate driver (the ownership's, else the projections' drivers with a salary) and any
    driver a lineup holds: driver_id, driver_name, salary, projection, ceiling."""
    parts = []
    if ownership is not None and len(ownership):
        parts.append(
            ownership[[c for c in ("driver_id", "driver_name", "salary") if c in ownership]]
        )
    if projections is not None and len(projections):
        p = projections
        if "salary" in p.columns:
            p = p[p["salary"].notna()]
        parts.append(p[[c for c in ("driver_id", "driver_name", "salary") if c in p]])
    for c in _slot_columns(portfolio):
        j = c[: -len("_driver_id")]
        slot = pd.DataFrame({"driver_id": portfolio[c]})
        for src, dst in ((f"{j}_name", "driver_name"), (f"{j}_salary", "salary")):
            if src in portfolio.columns:
                slot[dst] = portfolio[src].to_numpy()
        parts.append(slot)
    if not parts:
        return pd.DataFrame(columns=["driver_id", "driver_name", "salary", "projection", "ceiling"])
    cat = pd.concat([p.astype({"driver_id": "int64"}) for p in parts], ignore_index=True)
    for c in ("driver_name", "salary"):
        if c not in cat.columns:
            cat[c] = pd.NA
    # first non-null value per driver, sources in the order above
    out = cat.groupby("driver_id", sort=True)[["driver_name", "salary"]].first().reset_index()
    out["driver_name"] = out["driver_name"].astype("string")
    out["salary"] = pd.to_numeric(out["salary"], errors="coerce").astype("Int64")
    proj = projections if projections is not None else pd.DataFrame(columns=["driver_id"])
    for src, dst in (("dk_mean", "projection"), ("dk_p90", "ceiling")):
        if src in proj.columns:
            m = pd.Series(proj[src].to_numpy(float), index=proj["driver_id"].astype("int64"))
            out[dst] = out["driver_id"].map(m[~m.index.duplicated()]).astype(float)
        else:
            out[dst] = np.nan
    return out


# ----------------------------------------------------------------------------- limits


def _steering_for(steering, contest_id: str):
    if steering is None or not isinstance(steering, Mapping):
        return steering
    return steering.get(contest_id, steering.get(WHOLE_RACE))


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if abs(100 * x - round(100 * x)) < 1e-6 else f"{100 * x:.1f}%"


def driver_limits(driver_ids, steering: Steering | None) -> pd.DataFrame:
    """Per driver the limits a steering asks, as core/steering.py applies them: his own min and
    max, else no min and the global cap; a lock is min 100 % and max 100 % (unless his own max
    says otherwise); an exclude is max 0 %. Percent; NaN limits without steering."""
    ids = [int(d) for d in driver_ids]
    n = len(ids)
    if steering is None:
        return pd.DataFrame(
            {
                "min_exposure_pct": np.full(n, np.nan),
                "max_exposure_pct": np.full(n, np.nan),
                "locked": np.zeros(n, bool),
                "excluded": np.zeros(n, bool),
                "groups": [""] * n,
                "limit": [""] * n,
            }
        )
    per = {e.driver: e for e in steering.exposures}
    lock, excl = set(steering.lock), set(steering.exclude)
    rows = []
    for d in ids:
        e = per.get(d)
        own_max = e.max if e is not None else None
        lo = e.min if e is not None else 0.0
        hi = own_max if own_max is not None else float(steering.global_max_exposure)
        words = []
        if d in lock:
            lo, hi = 1.0, (own_max if own_max is not None else 1.0)
            words.append("lock")
        if d in excl:
            hi = 0.0
            words.append("exclude")
        if not words:
            if lo > _EPS:
                words.append(f"min {_pct(lo)}")
            words.append(f"max {_pct(hi)}" + ("" if own_max is not None else " (global)"))
        groups = [g.name for g in steering.groups if d in g.drivers]
        rows.append(
            {
                "min_exposure_pct": 100.0 * lo,
                "max_exposure_pct": 100.0 * hi,
                "locked": d in lock,
                "excluded": d in excl,
                "groups": ", ".join(groups),
                "limit": ", ".join(words),
            }
        )
    return pd.DataFrame(rows, columns=LIMIT_COLUMNS)


# ----------------------------------------------------------------------------- the tables


def _scenario_matrix(scenarios: pd.DataFrame | None) -> pd.DataFrame | None:
    """(S, D) DK points, columns driver_id, from the race_scenarios long table."""
    if scenarios is None or scenarios.empty:
        return None
    return scenarios.pivot(index="scenario", columns="driver_id", values="dk_points")


def lineup_ceilings(ids: np.ndarray, wide: pd.DataFrame | None, q: float = CEILING_QUANTILE):
    """The q-quantile of each lineup's DK points over the scenarios; NaN without scenarios or
    for a lineup holding a driver the scenarios lack. ids: (K, R) driver ids."""
    K = ids.shape[0]
    out = np.full(K, np.nan)
    if wide is None or K == 0:
        return out
    pos = {int(d): i for i, d in enumerate(wide.columns)}
    known = np.array([all(int(d) in pos for d in row) for row in ids], dtype=bool)
    if not known.any():
        return out
    pts = wide.to_numpy(np.float64)
    idx = np.vectorize(lambda d: pos.get(int(d), 0))(ids[known])
    total = np.zeros((pts.shape[0], idx.shape[0]))
    for j in range(idx.shape[1]):  # slot by slot: (S, K) at a time, never (S, K, R)
        total += pts[:, idx[:, j]]
    out[known] = np.quantile(total, q, axis=0)
    return out


def _simulation_rows(
    portfolio: pd.DataFrame, contests: pd.Series, simulation: pd.DataFrame | None
) -> pd.DataFrame:
    """The simulation's per-lineup columns aligned to the portfolio's rows."""
    keep = [
        c
        for c in (simulation.columns if simulation is not None else [])
        if c in SIMULATION_COLUMNS or c.startswith("honest_")
    ]
    left = pd.DataFrame(
        {"contest_id": contests.to_numpy(), "lineup_id": portfolio["lineup_id"].to_numpy()}
    )
    if simulation is None or not keep:
        return pd.DataFrame(index=left.index, columns=SIMULATION_COLUMNS, dtype=float)
    sim = simulation[["lineup_id", *keep]].copy()
    on = ["lineup_id"]
    if "contest_id" in simulation.columns:
        sim["contest_id"] = contest_column(simulation).to_numpy()
        on = ["contest_id", "lineup_id"]
    sim = sim.drop_duplicates(on, keep="last")
    merged = left.merge(sim, on=on, how="left")
    for c in SIMULATION_COLUMNS:
        if c not in merged.columns:
            merged[c] = np.nan
    return merged[[*SIMULATION_COLUMNS, *[c for c in keep if c not in SIMULATION_COLUMNS]]]


def exposure_report(
    portfolio: pd.DataFrame,
    simulation: pd.DataFrame | None = None,
    ownership: pd.DataFrame | None = None,
    projections: pd.DataFrame | None = None,
    scenarios: pd.DataFrame | None = None,
    steering: Steering | Mapping[str, Steering] | None = None,
    contests: pd.DataFrame | None = None,
) -> ExposureReport:
    """The report of a build.

    portfolio: lineup_portfolio (wide lineup frame, core/lineups.py; contest_id optional).
    simulation: contest_simulation (lineup_id, roi, cash_pct, ...; contest_id optional).
    ownership: ownership_projections (driver_id, own_pct). projections: driver_projections
    (driver_id, dk_mean, dk_p90). scenarios: race_scenarios (scenario, driver_id, dk_points),
    for the lineups' ceilings. steering: the build's Steering, or one per contest_id.
    contests: snapshot_contests (contest_id, contest_name), for the contests' names.
    """
    slots = _slot_columns(portfolio)
    names_of_contests = _contest_names(contests)
    contests = contest_column(portfolio)
    order = list(dict.fromkeys(contests.tolist()))
    ids = portfolio[slots].to_numpy(np.int64) if len(portfolio) else np.zeros((0, len(slots)))
    universe = _driver_universe(portfolio, ownership, projections)
    own = _ownership_pct(ownership)
    own = own[~own.index.duplicated()]

    # ---- lineups
    names = [f"{c[: -len('_driver_id')]}_name" for c in slots]
    name_of = dict(zip(universe["driver_id"].tolist(), universe["driver_name"].tolist()))
    if all(c in portfolio.columns for c in names):
        name_rows = portfolio[names].astype(str).to_numpy()
    else:
        name_rows = np.vectorize(lambda d: str(name_of.get(int(d), d)), otypes=[object])(ids)
    proj_of = pd.Series(universe["projection"].to_numpy(), index=universe["driver_id"])
    if "projection" in portfolio.columns:
        projection = portfolio["projection"].to_numpy(float)
    else:
        projection = np.array([proj_of.reindex(r).sum(min_count=len(r)) for r in ids], dtype=float)
    if "salary" in portfolio.columns:
        salary = portfolio["salary"].to_numpy(np.int64)
    else:
        sal_of = pd.Series(universe["salary"].to_numpy(float), index=universe["driver_id"])
        salary = np.array([sal_of.reindex(r).sum() for r in ids]).astype(np.int64)
    lineups = pd.DataFrame(
        {
            "contest_id": contests.to_numpy(object),
            "contest_name": contests.map(names_of_contests).to_numpy(object),
            "lineup_id": portfolio["lineup_id"].to_numpy(np.int64),
            "drivers": [", ".join(r) for r in name_rows],
            "driver_ids": [",".join(str(int(d)) for d in r) for r in ids],
            "salary": salary,
            "projection": projection,
            "ceiling": lineup_ceilings(ids, _scenario_matrix(scenarios)),
        }
    )
    sim = _simulation_rows(portfolio, contests, simulation)
    lineups = pd.concat([lineups, sim.reset_index(drop=True)], axis=1)
    rank = {c: i for i, c in enumerate(order)}
    lineups = (
        lineups.assign(_c=lineups["contest_id"].map(rank))
        .sort_values(["_c", "lineup_id"], kind="stable")
        .drop(columns="_c")
        .reset_index(drop=True)
    )
    lineups["contest_id"] = lineups["contest_id"].astype("string")
    lineups["contest_name"] = lineups["contest_name"].astype("string")

    # ---- drivers
    blocks = []
    for cid in order:
        held = ids[(contests == cid).to_numpy()]
        n = held.shape[0]
        d_ids, counts = np.unique(held, return_counts=True)
        count = pd.Series(counts, index=d_ids.astype(np.int64))
        b = universe.copy()
        b.insert(0, "contest_id", cid)
        b.insert(1, "contest_name", names_of_contests.get(cid))
        b["lineups"] = b["driver_id"].map(count).fillna(0).astype(np.int64)
        b["n_lineups"] = np.int64(n)
        b["exposure_pct"] = 100.0 * b["lineups"] / n if n else 0.0
        limits = driver_limits(b["driver_id"], _steering_for(steering, cid))
        b = pd.concat([b.reset_index(drop=True), limits], axis=1)
        b["own_pct"] = b["driver_id"].map(own).fillna(0.0).astype(float)
        b["leverage_pct"] = b["exposure_pct"] - b["own_pct"]
        b = b.sort_values(
            ["exposure_pct", "own_pct", "driver_id"], ascending=[False, False, True], kind="stable"
        )
        blocks.append(b[DRIVER_COLUMNS])
    drivers = (
        pd.concat(blocks, ignore_index=True)
        if blocks
        else pd.DataFrame({c: pd.Series(dtype=object) for c in DRIVER_COLUMNS})
    )
    drivers["contest_id"] = drivers["contest_id"].astype("string")
    drivers["contest_name"] = drivers["contest_name"].astype("string")
    return ExposureReport(drivers=drivers, lineups=lineups)


# ----------------------------------------------------------------------------- the terminal


def _short(name: str) -> str:
    """A driver's surname for a one-line lineup ('Ricky Stenhouse Jr.' -> 'Stenhouse Jr.')."""
    parts = str(name).split()
    if len(parts) >= 3 and parts[-1].rstrip(".").lower() in ("jr", "sr", "ii", "iii", "iv"):
        return " ".join(parts[-2:])
    return parts[-1] if parts else str(name)


def _num(v, fmt: str, missing: str = "-") -> str:
    try:
        if v is None or pd.isna(v):
            return missing
    except (TypeError, ValueError):
        pass
    return format(v, fmt)


def _own_limit(limit) -> str:
    """A driver's own limits ('' where only the global cap applies: the header names it)."""
    text = "" if limit is None or pd.isna(limit) else str(limit)
    return "" if text.endswith("(global)") and "min" not in text else text


def _pct_cell(v, fmt: str, unit: str = "") -> str:
    text = _num(v, fmt)
    return text if text == "-" else text + unit


def format_report(
    drivers: pd.DataFrame,
    lineups: pd.DataFrame | None = None,
    *,
    max_drivers: int = 15,
    max_lineups: int = 10,
) -> str:
    """The report as compact terminal text, one block per contest: the drivers we hold (by
    exposure, with ownership, leverage and the limits asked), the most-owned drivers we do not
    hold, then the best lineups by simulated ROI."""
    out: list[str] = []
    contests = list(dict.fromkeys(drivers["contest_id"].astype(str).tolist()))
    if lineups is not None:
        contests += [
            c for c in dict.fromkeys(lineups["contest_id"].astype(str)) if c not in contests
        ]
    for cid in contests:
        d = drivers[drivers["contest_id"].astype(str) == cid]
        lu = lineups[lineups["contest_id"].astype(str) == cid] if lineups is not None else None
        n = int(d["n_lineups"].iloc[0]) if len(d) else (len(lu) if lu is not None else 0)
        label = d["contest_name"].dropna() if "contest_name" in d else pd.Series(dtype=object)
        named = f" ({label.iloc[0]})" if len(label) else ""
        head = f"contest {cid}{named}: {n} lineups" if cid != WHOLE_RACE else f"race: {n} lineups"
        if lu is not None and len(lu) and lu["roi"].notna().any():
            head += f", mean simulated ROI {lu['roi'].mean():+.1%}"
            if lu["cash_pct"].notna().any():
                head += f", cash {lu['cash_pct'].mean():.1f}%"
            if "honest_roi" in lu and lu["honest_roi"].notna().any():
                head += f", honest ROI {lu['honest_roi'].mean():+.1%}"
        capped = d[d["limit"].astype(str).str.endswith("(global)")]
        if len(capped):  # the global cap once, not on every driver's line
            head += f"; global max exposure {capped['max_exposure_pct'].iloc[0]:.0f}%"
        out.append(head)
        held = d[d["lineups"] > 0].sort_values(
            ["exposure_pct", "own_pct"], ascending=False, kind="stable"
        )
        if len(held):
            out.append(
                f"  {'driver':<22} {'salary':>7} {'ours':>5} {'field':>6} {'lev':>6} "
                f"{'proj':>5}  limit"
            )
            for _, r in held.head(max_drivers).iterrows():
                out.append(
                    f"  {str(r['driver_name'])[:22]:<22} {_num(r['salary'], ',d'):>7} "
                    f"{r['exposure_pct']:>4.0f}% {r['own_pct']:>5.1f}% "
                    f"{r['leverage_pct']:>+6.1f} {_num(r['projection'], '.1f'):>5}  "
                    f"{_own_limit(r['limit'])}".rstrip()
                )
            if len(held) > max_drivers:
                out.append(f"  ... {len(held) - max_drivers} more held")
        faded = d[d["lineups"] == 0].sort_values("own_pct", ascending=False, kind="stable")
        faded = faded[faded["own_pct"] > 0].head(6)
        if len(faded):
            out.append(
                "  not held: "
                + ", ".join(f"{r.driver_name} ({r.own_pct:.0f}% field)" for r in faded.itertuples())
            )
        if lu is not None and len(lu):
            out.append(
                f"  {'lineup':>6} {'salary':>7} {'proj':>6} {'ceil':>6} {'ROI':>7} {'cash':>6} "
                f"{'win':>6} {'top1':>6} {'dups':>5}  drivers"
            )
            best = lu.sort_values(["roi", "projection"], ascending=False, na_position="last")
            for _, r in best.head(max_lineups).iterrows():
                who = ", ".join(_short(x) for x in str(r["drivers"]).split(", "))
                out.append(
                    f"  {int(r['lineup_id']):>6} {int(r['salary']):>7,} "
                    f"{_num(r['projection'], '.1f'):>6} {_num(r['ceiling'], '.1f'):>6} "
                    f"{_pct_cell(r['roi'], '+.1%'):>7} {_pct_cell(r['cash_pct'], '.1f', '%'):>6} "
                    f"{_pct_cell(r['win_pct'], '.2f', '%'):>6} "
                    f"{_pct_cell(r['top1_pct'], '.2f', '%'):>6} "
                    f"{_num(r['sim_duplicates'], '.1f'):>5}  {who}"
                )
            if len(lu) > max_lineups:
                out.append(f"  ... {len(lu) - max_lineups} more lineups")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
