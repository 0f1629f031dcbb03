"""Field ownership: a share model over the slate, blended with a vendor's or the user's
ownership when given, bounded by salary tier, with reasons. Pure; no I/O.

Share model (multinomial logit): driver i's share of the slate's picks is
softmax(features_i . beta); his ownership is roster_size x 100 % times that share (600 % on
DraftKings), at most his tier bound (ownership_bounds.py). Coefficients come from
`ownership_fit.fit_field_model` on real %Drafted, else DEFAULT_FIELD_MODEL below.

The vendor/user ownership enters as a blend: (1 - w) * model + w * vendor, before the bounds, so
a degenerate input (all weight on min-priced drivers) is bounded and named in the warnings
instead of reaching the field generator. A field whose implied lineup salary falls below
`min_field_salary` is tilted toward salary until it reaches it (real fields spend $48-50K of the
$50K cap), one above the cap away from it, again with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nascar_pipeline.core.ownership import normalize_ownership
from nascar_pipeline.core.ownership_bounds import bound_words, ownership_reasons, tier_bounds
from nascar_pipeline.core.ownership_features import FIELD_FEATURES, column, field_features

# Stated defaults. Signs and the features' order of importance are set a priori from how DFS
# fields build: value and projection lead, the field pays up a little for studs, chases a price
# drop and last week's chalk (inertia), and the model's odds when the slate shows them. Start
# position adds nothing by itself: the projection already holds the place-differential points
# (chasing them twice is what put 79 % on a back-marker). The sizes (the share model's
# temperature) are the maximum-likelihood fit on the six 2026 slates' vendor-projected ownership
# (the only stand-in for a real field on hand), rounded; the odds keep their a-priori sizes since
# those slates do not show them, and recent form keeps a small one (the vendor's ownership follows
# its own projection, so it cannot show how much the real field chases last week's points;
# recent finishes add nothing beyond them). Refit on real %Drafted (`fit_field_model`) as soon
# as standings are ingested.
DEFAULT_FIELD_COEFS = {
    "projection": 0.35,
    "value": 0.40,
    "salary": 0.05,
    "recent_dk_points": 0.05,
    "recent_finish": 0.0,
    "start_position": 0.0,
    "price_drop": 0.10,
    "win_odds": 0.15,
    "top5_odds": 0.05,
    "previous_ownership": 0.10,
}
DEFAULT_VENDOR_WEIGHT = 0.5  # weight of a vendor's/user's ownership when the slate has one
DEFAULT_MIN_FIELD_SALARY = 46_000.0  # DraftKings; real fields spend $48-50K
DEFAULT_MAX_FIELD_SALARY = 50_000.0  # DraftKings' cap: no field lineup can spend more


@dataclass(frozen=True)
class FieldOwnershipModel:
    """Coefficients (FIELD_FEATURES -> float), the vendor blend weight and where they came from.
    `as_dict`/`from_dict` store it (asset metadata, a JSON file)."""

    coefs: Mapping[str, float]
    vendor_weight: float = DEFAULT_VENDOR_WEIGHT
    source: str = "stated defaults"

    def beta(self) -> np.ndarray:
        return np.array([float(self.coefs.get(f, 0.0)) for f in FIELD_FEATURES])

    def as_dict(self) -> dict:
        return {
            "coefs": {f: float(self.coefs.get(f, 0.0)) for f in FIELD_FEATURES},
            "vendor_weight": float(self.vendor_weight),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> FieldOwnershipModel:
        unknown = set(d.get("coefs", {})) - set(FIELD_FEATURES)
        if unknown:
            raise ValueError(f"unknown ownership feature(s): {', '.join(sorted(unknown))}")
        return cls(
            coefs={**DEFAULT_FIELD_COEFS, **d.get("coefs", {})},
            vendor_weight=float(d.get("vendor_weight", DEFAULT_VENDOR_WEIGHT)),
            source=str(d.get("source", "stored")),
        )


DEFAULT_FIELD_MODEL = FieldOwnershipModel(coefs=dict(DEFAULT_FIELD_COEFS))


def share_model_pct(features: np.ndarray, beta: np.ndarray, total: float) -> np.ndarray:
    """The share model's ownership, summing to `total`, each at most 100."""
    eta = np.asarray(features, float) @ np.asarray(beta, float)
    w = np.exp(eta - eta.max())
    return normalize_ownership(w, total, 100.0)


def vendor_pct(slate: pd.DataFrame, total: float) -> np.ndarray | None:
    """The slate's vendor/user ownership scaled to `total` (None without one). A driver the
    vendor did not list gets NaN (the model's value stands in for him)."""
    v = column(slate, "vendor_own_pct")
    if not np.isfinite(v).any() or np.nansum(v) <= 0:
        return None
    known = np.isfinite(v)
    return np.where(known, np.clip(v, 0.0, None), np.nan) * total / np.nansum(np.clip(v, 0, None))


@dataclass
class FieldOwnership:
    """`frame`: one row per slate driver (slate order): driver_name, salary, projection, tier,
    own_pct (final), own_model_pct (share model), own_vendor_pct (scaled input, NaN without),
    bound_pct, bounded (the bound cut the driver), reasons. `warnings`: sentences naming drivers,
    for the run log and metadata."""

    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    model: FieldOwnershipModel = DEFAULT_FIELD_MODEL
    implied_lineup_salary: float = float("nan")


def implied_lineup_salary(own_pct, salary) -> float:
    """The field's average lineup salary implied by the ownership: sum of own % x salary / 100."""
    own = np.asarray(own_pct, float)
    sal = np.asarray(salary, float)
    return float(np.nansum(own * sal) / 100.0)


def _tilt_to_salary(own, salary, bound, fixed, total, target) -> tuple[np.ndarray, float]:
    """Reweight own * exp(t * z(salary)) with the t of least size whose implied salary reaches
    `target` from where it is (t > 0 raises spending, t < 0 lowers it; bisection)."""
    z = (salary - salary.mean()) / (salary.std() or 1.0)
    up = implied_lineup_salary(own, salary) < target

    def at(t):
        return normalize_ownership(np.maximum(own, 1e-6) * np.exp(t * z), total, bound, fixed)

    def short(t):  # still on the wrong side of the target
        got = implied_lineup_salary(at(t), salary)
        return got < target if up else got > target

    sign = 1.0 if up else -1.0
    lo, hi = 0.0, 1.0
    while short(sign * hi) and hi < 64:
        hi *= 2
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if short(sign * mid) else (lo, mid)
    return at(sign * hi), sign * hi


def project_field_ownership(
    slate: pd.DataFrame,
    model: FieldOwnershipModel | None = None,
    *,
    roster_size: int = 6,
    overrides: Mapping[int, float] | None = None,
    min_field_salary: float | None = DEFAULT_MIN_FIELD_SALARY,
    max_field_salary: float | None = DEFAULT_MAX_FIELD_SALARY,
) -> FieldOwnership:
    """Project the field's ownership for one slate (see the module docstring).

    slate: columns as in ownership_features (driver_name, salary, projection required).
    overrides: slate index -> pct, pinned whatever the bounds. min_field_salary and
    max_field_salary: the range of the field's implied average lineup salary (DraftKings: $46K
    floor, the $50K cap); None skips that side of the tilt."""
    model = model or DEFAULT_FIELD_MODEL
    slate = slate.reset_index(drop=True)
    total = 100.0 * roster_size
    X = field_features(slate)
    beta = model.beta()
    own_model = share_model_pct(X, beta, total)
    vend = vendor_pct(slate, total)
    mixed = own_model
    if vend is not None and model.vendor_weight > 0:
        w = model.vendor_weight
        mixed = np.where(
            np.isfinite(vend), (1 - w) * own_model + w * np.nan_to_num(vend), own_model
        )
    bound, tiers, why = tier_bounds(slate)
    fixed = dict(overrides or {})
    # what the bounds take off a driver goes to the others by the blend, and to those the blend
    # left at zero (a degenerate input) by the model, never evenly to everyone
    final = normalize_ownership(mixed + 1e-6 * own_model, total, bound, fixed)

    names = slate["driver_name"].astype(str).to_numpy()
    sal = column(slate, "salary")
    proj = column(slate, "projection")
    warnings: list[str] = []
    over = (mixed > bound + 0.5) & ~np.isin(np.arange(len(slate)), list(fixed))
    source = "model blended with input ownership" if vend is not None else "model"
    for i in np.flatnonzero(over):
        warnings.append(
            f"{names[i]}: ${sal[i]:,.0f}, projected {proj[i]:.0f} pts, {source} "
            f"{mixed[i]:.0f} %: above the {bound[i]:.0f} % bound for the "
            f"{bound_words(tiers[i], why[i])}; set to {final[i]:.0f} %"
        )
    implied = implied_lineup_salary(final, sal)
    limits = [
        (min_field_salary, lambda v, x: v < x, "below the ${:,.0f} a real field spends at least"),
        (max_field_salary, lambda v, x: v > x, "above the ${:,.0f} salary cap"),
    ]
    for limit, off, words in limits:
        if limit is None or not np.isfinite(sal).all() or not off(implied, limit):
            continue
        before = implied
        final, t = _tilt_to_salary(final, sal, bound, fixed, total, limit)
        implied = implied_lineup_salary(final, sal)
        warnings.append(
            f"ownership implied an average field lineup of ${before:,.0f}, "
            f"{words.format(limit)}: tilted {'toward' if t > 0 else 'away from'} salary "
            f"(strength {abs(t):.2f}) to ${implied:,.0f}"
        )

    reasons = ownership_reasons(slate, X, beta)
    for i in range(len(slate)):
        extra = []
        if i in fixed:
            extra.append(f"pinned at {fixed[i]:.0f} % by override")
        if vend is not None and model.vendor_weight > 0 and np.isfinite(vend[i]) and vend[i] >= 15:
            extra.append(f"input ownership {vend[i]:.0f} % (blend weight {model.vendor_weight:g})")
        if over[i]:
            extra.append(f"bounded at {bound[i]:.0f} % ({bound_words(tiers[i], why[i])})")
        reasons[i] = "; ".join([r for r in [reasons[i], *extra] if r])
    frame = pd.DataFrame(
        {
            "driver_name": names,
            "salary": sal,
            "projection": proj,
            "tier": tiers.astype(str),
            "own_pct": final,
            "own_model_pct": own_model,
            "own_vendor_pct": vend if vend is not None else np.full(len(slate), np.nan),
            "bound_pct": bound,
            "bounded": over,
            "reasons": reasons,
        }
    )
    return FieldOwnership(frame, warnings, model, implied)
