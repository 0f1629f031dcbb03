"""The demo world's DFS slates: DraftKings and FanDuel pricing, the field's ownership and a
DraftKings-like GPP payout table."""

from __future__ import annotations

import numpy as np

CONTEST_ENTRY_FEE, CONTEST_FIELD_SIZE = 20.0, 5000


def _price(
    strength: np.ndarray, rng: np.random.Generator, top: int, bottom: int, power: float
) -> np.ndarray:
    """A site's pricing: `top` dollars for the strongest car down to `bottom` for the weakest, in
    whole $100s, roughly linear in the rank of the site's own noisy view of strength."""
    n = len(strength)
    view = strength + rng.normal(0.0, 0.3, n)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(-view, kind="stable")] = np.arange(n)
    x = rank / max(n - 1, 1)
    sal = top - (top - bottom) * x**power
    return (np.round(sal / 100.0) * 100).astype(np.int64)


def salaries(strength: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """DraftKings pricing: $11,500 down to $4,500, priced before qualifying."""
    return _price(strength, rng, 11_500, 4_500, 0.92)


FD_SLATE_BASE = 120_000  # FanDuel slate number of a race: FD_SLATE_BASE + 1 + race index
FD_PLAYER_BASE = 10_000  # FanDuel player number of a driver: FD_PLAYER_BASE + pool index


def fd_salaries(strength: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """FanDuel NASCAR pricing: $14,000 down to $3,000."""
    return _price(strength, rng, 14_000, 3_000, 0.9)


def ownership(
    strength: np.ndarray, start: np.ndarray, salary: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Actual DraftKings ownership in % (sums to 600: six roster slots), after the field's
    habits: strong drivers, drivers starting far back (place differential) and cheap drivers
    with a good outlook are popular; one car rarely exceeds ~70 %."""
    n = len(strength)
    z = (strength - strength.mean()) / (strength.std() + 1e-9)
    back = (start - 1) / max(n - 1, 1) - 0.5
    cheap = (salary.mean() - salary) / (salary.std() + 1e-9)
    score = 1.1 * z + 1.5 * back + 0.35 * cheap + rng.normal(0.0, 0.45, n)
    own = np.exp(score)
    own = 600.0 * own / own.sum()
    for _ in range(5):  # cap and share the excess out
        over = np.maximum(own - 70.0, 0.0)
        if over.sum() <= 0:
            break
        own = np.minimum(own, 70.0)
        room = own < 70.0
        own[room] += over.sum() * own[room] / own[room].sum()
    return np.round(own, 2)


def dk_gpp_payouts(
    field_size: int = 5000, entry_fee: float = 20.0, rake: float = 0.15, paid_frac: float = 0.22
) -> list[dict]:
    """A DraftKings-like GPP payout table: about `paid_frac` of entries paid, (1 - rake) of
    entry fees paid back, top-heavy (prize - min cash ~ place^-1.15), min cash 1.5x the fee.
    Places are grouped into DraftKings-style bands; prizes are whole dollars, non-increasing."""
    pool = field_size * entry_fee * (1 - rake)
    paid = int(round(field_size * paid_frac))
    edges = [
        1,
        2,
        3,
        4,
        5,
        6,
        8,
        11,
        16,
        21,
        26,
        31,
        41,
        51,
        76,
        101,
        151,
        201,
        301,
        401,
        601,
        801,
        1001,
        1501,
        2001,
        3001,
        5001,
        7501,
        10001,
    ]
    bands = [(a, min(b - 1, paid)) for a, b in zip(edges[:-1], edges[1:]) if a <= paid]
    if bands[-1][1] < paid:
        bands.append((bands[-1][1] + 1, paid))
    min_cash = 1.5 * entry_fee
    places = np.arange(1, paid + 1, dtype=float)
    raw = places**-1.15 - float(paid) ** -1.15  # 0 at the last paid place
    # min cash + a power law on top of it, scaled to spend the pool.
    prize = min_cash + (pool - min_cash * paid) * raw / raw.sum()
    out, last = [], None
    for a, b in bands:
        p = float(np.floor(prize[a - 1 : b].mean()))
        if last is not None:
            p = min(p, last)
        out.append({"min_place": a, "max_place": b, "prize": p})
        last = p
    return out
