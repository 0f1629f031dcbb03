"""Sane by construction: a per-driver ownership bound by salary tier, and the reasons a player
can read for a driver's ownership. Pure; no I/O.

Real DraftKings fields own the cheapest third of a slate at a few percent each; a punt reaches
the 20s only when his value stands out (Cole Custer, $5,100 at Atlanta 2026, 36 projected
points: the slate's best value). So a bottom-tier driver is bounded at 25 % unless the player can
see why more (a top-3 value, projection or win odds, or top-5 top-5 odds), then at 40 %; the mid
tier at 50 % (70 % with a reason), the top tier at 80 % (95 % with a reason).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nascar_pipeline.core.ownership_features import (
    FIELD_FEATURES,
    column,
    price_change,
    salary_tiers,
    value_per_1k,
)

TIER_BOUNDS = {"top": 80.0, "mid": 50.0, "bottom": 25.0}
JUSTIFIED_BOUNDS = {"top": 95.0, "mid": 70.0, "bottom": 40.0}
TIER_WORDS = {"top": "top salary tier", "mid": "middle salary tier", "bottom": "bottom salary tier"}
# a feature explains a driver's ownership when it adds at least this much to his log-share
REASON_MIN_CONTRIBUTION = 0.3


def slate_rank(x) -> np.ndarray:
    """1 = highest on the slate; unknown values rank last."""
    x = np.asarray(x, dtype=np.float64)
    key = np.where(np.isfinite(x), -x, np.inf)
    order = np.argsort(key, kind="stable")
    rank = np.empty(x.size, dtype=np.int64)
    rank[order] = np.arange(1, x.size + 1)
    return rank


def justification(slate: pd.DataFrame) -> list[str]:
    """Per driver, the plain reason a high ownership is believable ('' when there is none)."""
    checks = [
        ("value", value_per_1k(slate), 3, "value #{r} on the slate"),
        ("projection", column(slate, "projection"), 3, "projection #{r} on the slate"),
        ("win_prob", column(slate, "win_prob"), 3, "win odds #{r} on the slate"),
        ("top5_prob", column(slate, "top5_prob"), 5, "top-5 odds #{r} on the slate"),
    ]
    out = [""] * len(slate)
    for _, x, top, words in checks:
        if not np.isfinite(x).any():
            continue
        r = slate_rank(x)
        for i in np.flatnonzero((r <= top) & np.isfinite(x)):
            if not out[i]:
                out[i] = words.format(r=r[i])
    return out


def tier_bounds(slate: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(bound pct per driver, salary tier per driver, justification per driver)."""
    tiers = salary_tiers(column(slate, "salary"))
    why = justification(slate)
    bound = np.array(
        [(JUSTIFIED_BOUNDS if w else TIER_BOUNDS)[t] for t, w in zip(tiers, why)], dtype=float
    )
    return bound, tiers, why


def bound_words(tier: str, why: str) -> str:
    """'bottom salary tier, no value or odds reason' / 'bottom salary tier, value #1 ...'."""
    return f"{TIER_WORDS[tier]}, {why}" if why else f"{TIER_WORDS[tier]}, no value or odds reason"


def _phrase(feature: str, i: int, slate: pd.DataFrame) -> str:
    sal = column(slate, "salary")
    if feature == "projection":
        p = column(slate, "projection")
        return f"projected {p[i]:.0f} pts (#{slate_rank(p)[i]})"
    if feature == "value":
        v = value_per_1k(slate)
        return f"value {v[i]:.1f} pts/$1K (#{slate_rank(v)[i]})"
    if feature == "salary":
        return f"salary ${sal[i]:,.0f} (#{slate_rank(sal)[i]}: the field pays up for studs)"
    if feature == "recent_dk_points":
        return f"recent form {column(slate, 'recent_dk_points')[i]:.0f} DK pts/race"
    if feature == "recent_finish":
        return f"recent average finish {column(slate, 'recent_finish')[i]:.1f}"
    if feature == "start_position":
        return f"starts P{column(slate, 'start_position')[i]:.0f} (place differential)"
    if feature == "price_drop":
        return f"price down ${-price_change(slate)[i]:,.0f} since his last race"
    if feature == "win_odds":
        w = column(slate, "win_prob")
        return f"win odds {w[i]:.0%} (#{slate_rank(w)[i]})"
    if feature == "top5_odds":
        return f"top-5 odds {column(slate, 'top5_prob')[i]:.0%}"
    if feature == "previous_ownership":
        return f"{column(slate, 'prev_own_pct')[i]:.0f} % owned at his last race"
    raise KeyError(feature)


def ownership_reasons(
    slate: pd.DataFrame,
    features: np.ndarray,
    beta: Sequence[float],
    *,
    max_reasons: int = 3,
) -> list[str]:
    """Per driver, the features that raise his ownership most, in words ('' when none stands
    out): e.g. 'value 6.8 pts/$1K (#1); price down $700 since his last race'."""
    contrib = np.asarray(features, dtype=float) * np.asarray(beta, dtype=float)[None, :]
    out = []
    for i in range(contrib.shape[0]):
        order = np.argsort(-contrib[i], kind="stable")[:max_reasons]
        words = [
            _phrase(FIELD_FEATURES[k], i, slate)
            for k in order
            if contrib[i, k] >= REASON_MIN_CONTRIBUTION
        ]
        out.append("; ".join(words))
    return out
