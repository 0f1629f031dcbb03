"""Contest simulation: the field, the payout table, ranks with ties, payouts. Pure NumPy; no I/O.

Conventions
- A lineup is a row of driver indices into the slate (0..D-1); a set of lineups is (n, R) int.
- `points` is a (S, D) matrix of fantasy points per scenario and driver.
- Scores are computed exactly: points are quantized to 1e-4 (DraftKings and FanDuel points are
  multiples of 0.05, so nothing is lost) and summed as whole numbers, so equal lineups always tie
  exactly whatever the summation order. Ranks against the field are streamed over scenarios in
  bounded memory by core.contest_ranks (a 200,000-entry field fits).
- The contest holds the field (F lineups, duplicates kept) plus our N lineups: M = F + N entries.
  Places run 1..M; an entry with `b` entries strictly above it and `t` entries tied with it
  (itself included) shares places b+1..b+t and is paid the average of those places' prizes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from nascar_pipeline.core.contest_ranks import QUANT, stream_ranks

# ----------------------------------------------------------------------------- payout tables


@dataclass(frozen=True)
class PayoutTable:
    entry_fee: float
    prizes: np.ndarray  # (P,) prize of places 1..P; places beyond P pay 0
    source: str = "contest"  # "contest" (ingested) or "default"

    def prize_cumsum(self, n_entries: int) -> np.ndarray:
        """(n_entries + 1,) prefix sums: cum[k] = total prize of places 1..k."""
        p = np.zeros(n_entries, dtype=np.float64)
        m = min(n_entries, self.prizes.size)
        p[:m] = self.prizes[:m]
        return np.concatenate([[0.0], np.cumsum(p)])

    @property
    def total(self) -> float:
        return float(self.prizes.sum())


def payout_table_from_json(payouts: str | list, entry_fee: float) -> PayoutTable:
    """From the ontology's JSON: [{"min_place": 1, "max_place": 1, "prize": 1000.0}, ...]."""
    rows = json.loads(payouts) if isinstance(payouts, str) else payouts
    if not rows:
        raise ValueError("empty payout table")
    last = max(int(r["max_place"]) for r in rows)
    prizes = np.zeros(last, dtype=np.float64)
    for r in rows:
        lo, hi, prize = int(r["min_place"]), int(r["max_place"]), float(r["prize"])
        if lo < 1 or hi < lo:
            raise ValueError(f"bad payout row {r}")
        prizes[lo - 1 : hi] = prize
    if np.any(np.diff(prizes) > 1e-9):
        raise ValueError("payouts must not increase with the place")
    return PayoutTable(entry_fee=float(entry_fee), prizes=prizes, source="contest")


def default_gpp_payouts(
    n_entries: int,
    entry_fee: float = 20.0,
    rake: float = 0.15,
    paid_fraction: float = 0.22,
    min_cash_multiple: float = 1.5,
    decay: float = 1.15,
) -> PayoutTable:
    """A stated default DraftKings-like GPP table when no contest is ingested.

    Prize pool = (1 - rake) * fee * entries; the top `paid_fraction` of places are paid; every paid
    place gets `min_cash_multiple` x fee, and the rest of the pool is spread over the paid places in
    proportion to place^-decay (so first place takes roughly 10-20 % of the pool in a large field).
    Rounded down to cents; prizes never increase with the place.
    """
    if n_entries < 1:
        raise ValueError("n_entries must be >= 1")
    pool = (1.0 - rake) * entry_fee * n_entries
    paid = max(1, int(math.floor(paid_fraction * n_entries)))
    base = min(min_cash_multiple * entry_fee, pool / paid)
    w = np.arange(1, paid + 1, dtype=np.float64) ** (-decay)
    prizes = base + (pool - base * paid) * w / w.sum()
    prizes = np.floor(prizes * 100.0) / 100.0
    return PayoutTable(entry_fee=float(entry_fee), prizes=prizes, source="default")


def payout_rows(table: PayoutTable) -> list[dict]:
    """Collapse a prize array back to [{"min_place", "max_place", "prize"}] rows."""
    rows: list[dict] = []
    p = table.prizes
    i = 0
    while i < p.size:
        j = i
        while j + 1 < p.size and p[j + 1] == p[i]:
            j += 1
        rows.append({"min_place": i + 1, "max_place": j + 1, "prize": float(p[i])})
        i = j + 1
    return rows


# ----------------------------------------------------------------------------- the field


def lineup_keys(lineups: np.ndarray) -> np.ndarray:
    """One hashable key per lineup (order of drivers inside a row does not matter)."""
    L = np.sort(np.asarray(lineups, dtype=np.int64), axis=1)
    return np.ascontiguousarray(L).view(np.dtype((np.void, L.dtype.itemsize * L.shape[1]))).ravel()


def duplicate_counts(ours: np.ndarray, field: np.ndarray) -> np.ndarray:
    """How many field lineups equal each of our lineups."""
    ok = lineup_keys(ours)
    if len(field) == 0:
        return np.zeros(len(ok), dtype=np.int64)
    fk, fc = np.unique(lineup_keys(field), return_counts=True)
    pos = np.minimum(np.searchsorted(fk, ok), fk.size - 1)
    return np.where(fk[pos] == ok, fc[pos], 0).astype(np.int64)


def generate_field(
    ownership_pct,
    salaries,
    roster_size: int,
    salary_cap: float,
    n_lineups: int,
    *,
    min_salary: float = 0.0,
    rng: np.random.Generator | None = None,
    calibrate_iters: int = 3,
    max_rounds: int = 200,
) -> np.ndarray:
    """A field of n_lineups drawn slot by slot from ownership.

    At each slot a lineup draws one driver, with probability proportional to its weight, among the
    drivers not yet in it whose salary still fits: the remaining cap must leave room for the cheapest
    drivers for the slots still open. Lineups whose salary ends under `min_salary` are redrawn.
    Duplicates are kept (they are part of the field). With `calibrate_iters` > 0 the draw weights are
    adjusted a few times (w <- w * target / realized) so that the field's realized ownership matches
    the projection despite the cap; 0 draws straight from ownership.
    Returns (n_lineups, roster_size) int64 driver indices, ascending per row.
    """
    rng = rng or np.random.default_rng()
    own = np.asarray(ownership_pct, dtype=np.float64)
    sal = np.asarray(salaries, dtype=np.float64)
    D = own.size
    if np.any(own < 0):
        raise ValueError("ownership must be >= 0")
    target = own / max(own.sum(), 1e-12) * roster_size  # expected count per lineup
    w = np.maximum(own, 0.0) + 1e-9
    field = _draw_field(w, sal, roster_size, salary_cap, n_lineups, min_salary, rng, max_rounds)
    for _ in range(calibrate_iters):
        # calibrate on a pilot field, then draw the real one with the adjusted weights
        realized = np.bincount(field.ravel(), minlength=D) / field.shape[0]
        adj = np.where(realized > 0, target / np.maximum(realized, 1e-12), 1.0)
        w = w * np.clip(adj, 0.5, 2.0) ** 0.8
        w = np.where(own > 0, w, 1e-9)
        field = _draw_field(w, sal, roster_size, salary_cap, n_lineups, min_salary, rng, max_rounds)
    return field


def _draw_field(w, sal, R, cap, n, min_salary, rng, max_rounds) -> np.ndarray:
    D = w.size
    cheapest = np.sort(sal)
    # reserve[k] = the least salary k more drivers can cost
    reserve = np.concatenate([[0.0], np.cumsum(cheapest)])
    out = np.empty((n, R), dtype=np.int64)
    todo = np.arange(n)
    for _ in range(max_rounds):
        m = todo.size
        if m == 0:
            break
        avail = np.ones((m, D), dtype=bool)
        spent = np.zeros(m)
        picks = np.empty((m, R), dtype=np.int64)
        dead = np.zeros(m, dtype=bool)
        for slot in range(R):
            left_after = R - slot - 1
            budget = cap - spent - reserve[left_after]
            ok = avail & (sal[None, :] <= budget[:, None] + 1e-9)
            p = np.where(ok, w[None, :], 0.0)
            tot = p.sum(axis=1)
            dead |= tot <= 0
            tot = np.where(tot > 0, tot, 1.0)
            cdf = np.cumsum(p, axis=1)
            u = rng.random(m) * tot
            pick = (cdf < u[:, None]).sum(axis=1)
            pick = np.minimum(pick, D - 1)
            picks[:, slot] = pick
            avail[np.arange(m), pick] = False
            spent += sal[pick]
        good = ~dead & (spent >= min_salary - 1e-9) & (spent <= cap + 1e-9)
        out[todo[good]] = picks[good]
        todo = todo[~good]
    if todo.size:
        raise ValueError(
            f"could not draw {todo.size} field lineups over the salary floor "
            f"{min_salary:.0f} in {max_rounds} rounds: lower the floor (field_min_salary for a "
            "contest field), or build the field with core.field.build_field, which adjusts it"
        )
    out.sort(axis=1)
    return out


# ----------------------------------------------------------------------------- scoring and ranks


def quantize_points(points, quant: float = QUANT) -> np.ndarray:
    """(S, D) points -> whole numbers of 1/quant points in float64 (exact sums)."""
    return np.round(np.asarray(points, dtype=np.float64) * quant)


def incidence(lineups: np.ndarray, n_drivers: int) -> np.ndarray:
    """(n, D) 0/1 float64 matrix: row i has ones at lineup i's drivers."""
    L = np.asarray(lineups, dtype=np.int64)
    A = np.zeros((L.shape[0], n_drivers), dtype=np.float64)
    A[np.repeat(np.arange(L.shape[0]), L.shape[1]), L.ravel()] = 1.0
    return A


def lineup_scores_q(points_q: np.ndarray, lineups: np.ndarray) -> np.ndarray:
    """(S, n) quantized lineup scores (whole numbers in float64) for quantized points (S, D)."""
    return points_q @ incidence(lineups, points_q.shape[1]).T


def tie_split_payout(better: np.ndarray, tied: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """Average prize of places better+1 .. better+tied (arrays broadcast); cum from prize_cumsum.
    The counts may come as small integers (int16 in the greedy): the sum and the clip to the
    table's end are taken in the platform integer, where they cannot overflow."""
    better = np.asarray(better).astype(np.intp, copy=False)
    hi = np.minimum(better + tied, cum.size - 1)
    lo = np.minimum(better, cum.size - 1)
    return (cum[hi] - cum[lo]) / tied


@dataclass
class ContestResult:
    payout: np.ndarray  # (S, N) payout of each of our lineups per scenario
    rank: np.ndarray  # (S, N) tie-averaged place (1 = first)
    better: np.ndarray  # (S, N) entries strictly above
    tied: np.ndarray  # (S, N) entries tied, itself included
    n_entries: int
    entry_fee: float
    top1_place: int  # the worst place still in the top 1 %
    duplicates: np.ndarray  # (N,) field lineups identical to each of ours

    def summary(self) -> dict:
        return summarize(self)


def simulate_contest(
    points,
    ours,
    field,
    table: PayoutTable,
    *,
    chunk_elems: int | None = None,
    keep_per_scenario: bool = True,
    workers: int | None = None,
) -> ContestResult:
    """Rank our N lineups against the field and each other in every scenario and pay them.

    points: (S, D); ours: (N, R); field: (F, R). Ranks come from core.contest_ranks.stream_ranks:
    identical field lineups collapsed with counts, scenarios streamed in chunks (at most about
    `chunk_elems` field scores held at once when given, else a byte budget per worker), exact
    integer scores so ties are exact. `workers`: threads (default: the usable cores, at most 2).
    `keep_per_scenario` is accepted for compatibility; the (S, N) arrays are always returned.
    """
    del keep_per_scenario
    ours = np.asarray(ours, dtype=np.int64)
    field = np.asarray(field, dtype=np.int64)
    M = ours.shape[0] + field.shape[0]
    better, tied = stream_ranks(points, ours, field, max_field_scores=chunk_elems, workers=workers)
    top1 = max(1, int(math.ceil(0.01 * M)))
    return ContestResult(
        payout=tie_split_payout(better, tied, table.prize_cumsum(M)),
        rank=better + (tied + 1) / 2.0,
        better=better,
        tied=tied,
        n_entries=M,
        entry_fee=table.entry_fee,
        top1_place=top1,
        duplicates=duplicate_counts(ours, field),
    )


def summarize(res: ContestResult) -> dict:
    """Per-lineup and portfolio summaries (plain Python / NumPy values)."""
    fee = res.entry_fee
    pay = res.payout
    N = pay.shape[1]
    per = {
        "mean_payout": pay.mean(axis=0),
        "roi": (pay.mean(axis=0) - fee) / fee if fee > 0 else np.full(N, np.nan),
        "cash_pct": 100.0 * (pay > 0).mean(axis=0),
        "win_pct": 100.0 * (res.better == 0).mean(axis=0),
        "top1_pct": 100.0 * (res.better < res.top1_place).mean(axis=0),
        "mean_rank": res.rank.mean(axis=0),
        "sim_duplicates": res.duplicates,
    }
    total = pay.sum(axis=1)
    cost = fee * N
    roi_dist = (total - cost) / cost if cost > 0 else np.full(total.shape, np.nan)
    port = {
        "n_lineups": int(N),
        "n_entries": int(res.n_entries),
        "entry_fee": float(fee),
        "total_cost": float(cost),
        "mean_total_payout": float(total.mean()),
        "roi": float(roi_dist.mean()),
        "roi_sd": float(roi_dist.std()),
        "roi_p05": float(np.quantile(roi_dist, 0.05)),
        "roi_p50": float(np.quantile(roi_dist, 0.50)),
        "roi_p95": float(np.quantile(roi_dist, 0.95)),
        "p_profit": float((total > cost).mean()),
        "any_cash_pct": float(100.0 * (pay > 0).any(axis=1).mean()),
        "any_win_pct": float(100.0 * (res.better == 0).any(axis=1).mean()),
    }
    return {"per_lineup": per, "portfolio": port, "roi_distribution": roi_dist}
