"""Sanity between ownership, projections and salaries, before any lineup is built. Pure.

`check_slate_sanity(frame)` reads one row per slate driver (driver_name, salary, projection,
own_pct; driver_id when there is one) and returns a SanityReport:
- blocking: what no lineup or field can be built from: missing columns, NaN, negative or
  over-100 % ownership, a total off the roster's 600 %, duplicated drivers, a non-positive salary,
  fewer drivers than roster slots, no lineup under the cap;
- warnings: what is possible but unlike a real field, each naming the drivers: a driver above his
  salary tier's bound, a top-owned driver with a bottom-half projection, a top projection nobody
  owns, an implied field lineup salary outside the range real fields spend, a value no projection
  reaches (points per $1K above 10), a negative projection (possible in DraftKings scoring).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nascar_pipeline.core.ownership_bounds import bound_words, slate_rank, tier_bounds
from nascar_pipeline.core.ownership_features import column

REQUIRED = ("driver_name", "salary", "projection", "own_pct")
TOTAL_TOLERANCE_PCT = 0.5
MAX_BELIEVABLE_VALUE = 10.0  # DK points per $1K; the best real values are 6-8


@dataclass
class SanityReport:
    blocking: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No blocking problem (warnings may remain)."""
        return not self.blocking

    def as_metadata(self) -> dict:
        return {
            "sanity_blocking": list(self.blocking),
            "sanity_warnings": list(self.warnings),
        }

    def raise_if_blocking(self) -> None:
        if self.blocking:
            raise ValueError(
                "ownership/projection/salary check failed: " + " | ".join(self.blocking)
            )


def _describe(names, sal, proj, own, i) -> str:
    return f"{names[i]}: ${sal[i]:,.0f}, projected {proj[i]:.0f} pts, owned {own[i]:.0f} %"


def _blocking(frame: pd.DataFrame, roster_size: int, salary_cap: float) -> list[str]:
    out: list[str] = []
    missing = [c for c in REQUIRED if c not in frame]
    if missing:
        return [f"missing column(s): {', '.join(missing)}"]
    names = frame["driver_name"].astype(str).to_numpy()
    sal = column(frame, "salary")
    proj = column(frame, "projection")
    own = column(frame, "own_pct")
    for label, x in (("salary", sal), ("projection", proj), ("ownership", own)):
        bad = np.flatnonzero(~np.isfinite(x))
        if bad.size:
            out.append(f"{label} missing (NaN) for {', '.join(names[bad])}")
    bad = np.flatnonzero(np.isfinite(own) & (own < 0))
    out += [f"{names[i]}: ownership {own[i]:.1f} % is negative" for i in bad]
    bad = np.flatnonzero(np.isfinite(own) & (own > 100.0 + 1e-9))
    out += [f"{names[i]}: ownership {own[i]:.1f} % is above 100 %" for i in bad]
    bad = np.flatnonzero(np.isfinite(sal) & (sal <= 0))
    out += [f"{names[i]}: salary ${sal[i]:,.0f} is not positive" for i in bad]
    total = float(np.nansum(own))
    want = 100.0 * roster_size
    if abs(total - want) > TOTAL_TOLERANCE_PCT:
        out.append(f"ownership totals {total:.1f} %, not {want:.0f} % ({roster_size} slots x 100)")
    key = frame["driver_id"] if "driver_id" in frame else frame["driver_name"].str.lower()
    dup = key[key.duplicated(keep=False)]
    if len(dup):
        groups = sorted({str(n) for n in frame.loc[dup.index, "driver_name"]})
        out.append(f"duplicated driver(s): {', '.join(groups)}")
    if len(frame) < roster_size:
        out.append(f"{len(frame)} drivers on the slate, fewer than {roster_size} roster slots")
    elif np.isfinite(sal).all() and np.sort(sal)[:roster_size].sum() > salary_cap:
        out.append(
            f"the {roster_size} cheapest drivers cost ${np.sort(sal)[:roster_size].sum():,.0f}, "
            f"over the ${salary_cap:,.0f} cap: no lineup is possible"
        )
    return out


def _warnings(
    frame: pd.DataFrame, roster_size: int, field_salary: tuple[float, float]
) -> list[str]:
    out: list[str] = []
    names = frame["driver_name"].astype(str).to_numpy()
    sal = column(frame, "salary")
    proj = column(frame, "projection")
    own = column(frame, "own_pct")
    bound, tiers, why = tier_bounds(frame)
    for i in np.flatnonzero(own > bound + 1e-6):
        out.append(
            f"{_describe(names, sal, proj, own, i)}: above the {bound[i]:.0f} % bound for the "
            f"{bound_words(tiers[i], why[i])}"
        )
    n = len(frame)
    own_rank, proj_rank = slate_rank(own), slate_rank(proj)
    for i in np.flatnonzero((own_rank <= 5) & (proj_rank > n / 2)):
        out.append(
            f"{_describe(names, sal, proj, own, i)}: among the 5 most owned with the "
            f"#{proj_rank[i]} projection of {n}"
        )
    for i in np.flatnonzero((proj_rank <= 3) & (own < 2.0)):
        out.append(
            f"{_describe(names, sal, proj, own, i)}: the #{proj_rank[i]} projection, "
            "owned by almost nobody"
        )
    # DraftKings points can be negative (a front starter who finishes far back loses more place
    # differential than his finish earns), so a negative mean is unusual, not impossible
    for i in np.flatnonzero(np.isfinite(proj) & (proj < 0)):
        out.append(
            f"{_describe(names, sal, proj, own, i)}: a negative projection (a front starter "
            "expected to lose places)"
        )
    value = proj / np.maximum(sal, 1.0) * 1000.0
    for i in np.flatnonzero(value > MAX_BELIEVABLE_VALUE):
        out.append(
            f"{_describe(names, sal, proj, own, i)}: value {value[i]:.1f} pts/$1K, above the "
            f"{MAX_BELIEVABLE_VALUE:.0f} no real projection reaches (check the projection)"
        )
    lo, hi = field_salary
    implied = float(np.nansum(own * sal) / 100.0) * (roster_size * 100.0 / max(own.sum(), 1e-9))
    if not lo <= implied <= hi:
        side = "below" if implied < lo else "above"
        # the drivers who pull the field's spending that way most
        pull = own * (sal - np.nanmean(sal))
        top = np.argsort(pull if implied < lo else -pull, kind="stable")[:3]
        out.append(
            f"ownership implies an average field lineup of ${implied:,.0f}, {side} the "
            f"${lo:,.0f}-${hi:,.0f} real fields spend; most of it from "
            + "; ".join(_describe(names, sal, proj, own, i) for i in top)
        )
    return out


def check_slate_sanity(
    frame: pd.DataFrame,
    *,
    roster_size: int = 6,
    salary_cap: float = 50_000.0,
    field_salary: tuple[float, float] = (46_000.0, 50_000.0),
) -> SanityReport:
    """Compare ownership, projections and salaries (see the module docstring). Warnings are
    only looked for when nothing blocks (they would repeat the blocking problems)."""
    blocking = _blocking(frame, roster_size, salary_cap)
    warnings = [] if blocking else _warnings(frame, roster_size, field_salary)
    return SanityReport(blocking, warnings)
