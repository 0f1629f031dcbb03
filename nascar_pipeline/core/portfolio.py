"""MCMC lineup sampling and greedy portfolio selection against a simulated field. Pure NumPy.

Objective. `FieldObjective` holds, for a set of scenarios, the simulated field's scores sorted per
scenario and the payout table. A lineup's value is its expected payout over those scenarios when it
enters alone against the field (ties split exactly), or its chance of finishing in the top 1 %.
Both are leverage-aware: a driver the field owns heavily adds little rank when he scores.

Sampler. Metropolis-Hastings over valid lineups with parallel tempering: a move swaps one driver
out for one not in the lineup, drawn uniformly among those that keep the salary within
[min_salary, cap]; the Hastings ratio corrects for the number of such swaps in each direction.
Chains run vectorized (one batch evaluation of the objective per step); adjacent temperatures
exchange states every `swap_every` steps. Target: exp(beta * value / scale).

Portfolio. Greedy on marginal gain of the set's expected payout: adding a lineup pays it according
to its rank against the field and the lineups already chosen, and pushes every chosen lineup it
beats down one place (each loses the prize difference between its place and the next). Ties
between a candidate and an already chosen lineup are counted in the candidate's own payout only.
Exposure caps and a maximum overlap filter the candidates each round.

Steering (core/steering.py, a SteeringArrays from check_feasible). The sampler only visits
lineups that keep every per-lineup rule: locked drivers are never swapped out, banned drivers
never in, a swap must keep every group's count and the salary within its bounds. The greedy
drops candidates that break a per-lineup rule, holds every driver at or under
floor(max_exposure * n) of n lineups (no cap is ever raised), and pays the min exposures by a
reserve rule: with r picks left, a driver still owed r lineups must be in the pick, and the pick
must cover what the other r - 1 cannot. When the candidates cannot fill n lineups under those
limits it rebuilds for the number it reached (so the exposures hold as shares of the lineups
returned) and says why in `shortfall_reason`. Taste blends projection and expected payout (see
core/steering.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from nascar_pipeline.core.contest import PayoutTable, incidence, quantize_points, tie_split_payout
from nascar_pipeline.core.highs_banner import SOLVER_LOCK

# Batches of at least this many lineups (the greedy's candidates, not the sampler's chains) are
# scored and ranked by the paths that suit many lineups per scenario.
LARGE_BATCH = 512
# Entries of the per-scenario payout table (FieldObjective.alone_payouts) at most: 8 bytes each
PAYOUT_LOOKUP_MAX = 12_000_000


@dataclass
class FieldObjective:
    points_q: np.ndarray  # (S, D) quantized points
    field_sorted: np.ndarray  # (S, F) field scores sorted ascending per scenario (+ offsets)
    offsets: np.ndarray  # (S,) offset added to scenario s's scores
    lo: float
    n_field: int
    n_kept: int  # field scores kept per scenario (the top ones)
    cum: np.ndarray  # prize prefix sums for n_field + n_ours entries
    top1_place: int
    entry_fee: float
    # value(kind='ev') read from the per-scenario payout table (alone_payouts: the same numbers)
    # instead of ranking: for an objective asked many times (the sampler's), worth the table
    by_lookup: bool = False

    @classmethod
    def build(
        cls,
        points,
        field_lineups,
        table: PayoutTable,
        n_ours: int = 1,
        prize_cap: float | None = None,
        by_lookup: bool = False,
    ) -> FieldObjective:
        """prize_cap: cap each place's prize (e.g. 100 x the fee) to temper the heavy tail of a GPP
        table when the objective drives a search (fewer lineups chosen for one lucky scenario).
        by_lookup: value() reads the payout table (see the field).

        Only the field's top K scores per scenario are kept (K = paid places or the top-1 % place,
        whichever is larger, plus one): an entry below them is out of the money and out of the top
        1 % whatever its exact place, so the counts above it are clipped to K."""
        Pq = quantize_points(points)
        S, D = Pq.shape
        fs = Pq @ incidence(field_lineups, D).T
        F = fs.shape[1]
        M = F + n_ours
        cum = table.prize_cumsum(M)
        if prize_cap is not None:
            prizes = np.minimum(np.diff(cum), float(prize_cap))
            cum = np.concatenate([[0.0], np.cumsum(prizes)])
        top1 = max(1, int(np.ceil(0.01 * M)))
        paid = int(np.count_nonzero(np.diff(cum) > 0))
        K = min(F, max(paid, top1) + 1)
        # any lineup of up to 10 drivers scores within [10 * min(0, p_min), 10 * max(0, p_max)]
        lo = float(min(fs.min(), 10 * min(Pq.min(), 0.0))) - 1.0
        hi = float(max(fs.max(), 10 * max(Pq.max(), 0.0))) + 1.0
        span = hi - lo + 1.0
        if S * span >= 2.0**52:
            raise ValueError("too many scenarios for exact offsets: use fewer objective scenarios")
        off = np.arange(S, dtype=np.float64) * span
        top = (
            np.sort(np.partition(fs, F - K, axis=1)[:, F - K :], axis=1)
            if K < F
            else np.sort(fs, axis=1)
        )
        srt = top - lo + off[:, None]
        return cls(
            points_q=Pq,
            field_sorted=srt,
            offsets=off,
            lo=lo,
            n_field=F,
            n_kept=K,
            cum=cum,
            top1_place=top1,
            entry_fee=table.entry_fee,
            by_lookup=by_lookup,
        )

    @property
    def n_scenarios(self) -> int:
        return self.points_q.shape[0]

    @cached_property
    def _points_by_driver(self) -> np.ndarray:
        """(D, S) the quantized points, one contiguous row per driver."""
        return np.ascontiguousarray(self.points_q.T)

    def scores(self, lineups: np.ndarray) -> np.ndarray:
        """(B, S) quantized scores of a batch of lineups."""
        L = np.asarray(lineups, dtype=np.int64)
        if L.shape[0] < LARGE_BATCH:
            return self.points_q[:, L].sum(axis=2).T
        # a large batch (the greedy's candidates): one contiguous row per slot added, not a
        # (S, B, R) gather; the scores are whole numbers, so the sums are the same exactly
        by_driver = self._points_by_driver
        out = by_driver[L[:, 0]]
        for j in range(1, L.shape[1]):
            out += by_driver[L[:, j]]
        return out

    def field_rank(self, scores: np.ndarray):
        """(better, tied-with-field) for (B, S) scores against the field."""
        q = scores - self.lo + self.offsets[None, :]
        if q.shape[0] >= LARGE_BATCH:
            if self._payout_lookup is not None:  # read, not searched: the same counts
                return self._field_rank_by_level(scores)
            return self._field_rank_by_scenario(q)
        # the queries in ascending order (scenario by scenario: the offsets keep the scenarios
        # apart), so each search starts where the last one ended: fewer cache misses in the
        # (S * K) array; the counts are put back in the batch's order
        qt = q.T
        order = np.argsort(qt, axis=1, kind="stable")
        keys = np.take_along_axis(qt, order, axis=1).ravel()
        flat = self.field_sorted.ravel()
        left = np.empty(qt.shape, dtype=np.int64)
        right = np.empty(qt.shape, dtype=np.int64)
        np.put_along_axis(left, order, np.searchsorted(flat, keys, "left").reshape(qt.shape), 1)
        np.put_along_axis(right, order, np.searchsorted(flat, keys, "right").reshape(qt.shape), 1)
        base = (np.arange(self.n_scenarios) * self.n_kept)[:, None]
        # below the kept scores the count above is clipped to K: out of the money either way
        return (self.n_kept - (right - base)).T, (right - left).T

    def _field_rank_by_level(self, scores: np.ndarray):
        """field_rank of a large batch read from the payout table's per-level counts (each
        score's level as alone_payouts finds it), in the searches' memory order."""
        _, shift, width, code, _ = self._payout_lookup
        S, W = code.shape
        lev = np.round(np.ascontiguousarray(scores.T) / self._payout_unit).astype(np.int64)
        lev += shift
        np.clip(lev, 0, width, out=lev)
        lev += (np.arange(S, dtype=np.int64) * W)[:, None]
        at = np.take(code.ravel(), lev)
        # each code's counts from two small arrays (no division per entry)
        K1 = self.n_kept + 1
        codes = np.arange(int(at.max(initial=0)) + 1)
        return (
            np.take(self.n_kept - codes % K1, at).T,
            np.take(codes // K1, at).T,
        )

    def _field_rank_by_scenario(self, q: np.ndarray):
        """field_rank of a large batch: each scenario's queries against its own K kept scores
        (a search in a cache-sized row, not in the whole (S * K) array); the same counts."""
        B, S = q.shape
        qt = np.ascontiguousarray(q.T)
        # a query below the lowest kept score has none of them at or below it (both counts 0):
        # most candidates are out of the money in most scenarios, so only the others are searched
        live = qt >= self.field_sorted[:, :1]
        left = np.zeros((S, B), dtype=np.int64)
        right = np.zeros((S, B), dtype=np.int64)
        for s in range(S):
            row = self.field_sorted[s]
            m = live[s]
            qs = qt[s, m]
            left[s, m] = np.searchsorted(row, qs, "left")
            right[s, m] = np.searchsorted(row, qs, "right")
        return (self.n_kept - right).T, (right - left).T

    @cached_property
    def paid_end(self) -> int:
        """The first place index from which cum no longer grows: an entry with at least this many
        entries above it is paid exactly 0 (tie_split_payout's two prefix sums are equal)."""
        return _paid_end(self.cum)

    @cached_property
    def _payout_lookup(self):
        """Each scenario's payout of a lone entry by its score, or None when too large a table.

        Every score (ours and the field's) is a multiple of g, the points' common unit (0.05 DK
        points: 500 quantized units), so in scenario s a score is row[0] + g * i for a whole i,
        row the kept field scores. Column 0: below every kept score; column 1 + i: the score
        row[0] + g * i, up to one unit above the best (then nobody above, nobody tied).

        A score's payout depends only on the kept scores at or below it (r of K) and tied with
        it (h): tie_split_payout(K - r, h + 1). So the table holds a small code per cell,
        r + (K + 1) * h, and `values` the payout of each code: the same numbers as ranking the
        score, read through a table of 2-byte codes instead of 8-byte payouts (less memory to
        fill and to read). field_rank of a large batch reads the counts from the codes too.
        Returns (units, shift, width, code, values)."""
        pq = np.abs(self.points_q).astype(np.int64)
        g = int(np.gcd.reduce(pq.ravel())) if pq.size else 0
        if g <= 0:
            return None
        self._payout_unit = g
        srt = self.field_sorted
        base = srt[:, 0]
        width = np.round((srt[:, -1] - base) / g).astype(np.int64) + 2  # levels incl. above
        W = int(width.max()) + 1
        S = self.n_scenarios
        K = self.n_kept
        if S * W > PAYOUT_LOOKUP_MAX:
            return None
        # the kept scores' levels, each row ascending; per distinct level its count h and the
        # count r at or below it, as the searches would count them
        level = np.round((srt - base[:, None]) / g).astype(np.int64)  # (S, K)
        at = (level + (np.arange(S) * W)[:, None]).ravel()  # ascending: the rows kept apart
        first = np.flatnonzero(np.r_[True, at[1:] != at[:-1]])
        h = np.diff(np.r_[first, at.size])
        r = (np.r_[first[1:], at.size] - (first // K) * K).astype(np.int64)
        hmax = int(h.max()) if h.size else 0
        whole = np.int16 if K + (K + 1) * hmax < 2**15 else np.int32
        # r at every level: the counts placed at their levels, then carried to the next ones
        # (a running maximum along the row: r only grows)
        code = np.zeros((S, W), dtype=whole)
        flat = code.ravel()
        flat[at[first] + 1] = r  # column 1 + level
        np.maximum.accumulate(code, axis=1, out=code)
        code[np.arange(S), width] = K  # one unit above the best: all K below, none tied
        flat[at[first] + 1] += ((K + 1) * h).astype(whole)  # the kept levels: ties too
        codes = np.arange((K + 1) * (hmax + 1))
        hh, rr = np.divmod(codes, K + 1)
        values = tie_split_payout(K - rr, hh + 1, self.cum)
        # score -> its level above row[0] (shift: minus row[0], a whole number of units g),
        # in whole numbers: each driver's points in units of g, the level 1 + their sum + shift
        shift = np.round((self.offsets - self.lo - base) / g)[:, None]
        units = np.round(self.points_q / g)  # (S, D)
        # int32 halves the memory read when every level sum fits (10 drivers at most)
        bound = 10 * np.abs(units).max() + np.abs(shift).max() + W + 1
        lev_t = np.int32 if bound < 2**31 - 1 else np.int64
        return (
            units.astype(lev_t),
            (shift + 1).astype(lev_t),
            width[:, None].astype(lev_t),
            code,
            values,
        )

    def alone_payouts(self, lineups: np.ndarray, block: int = 1024) -> np.ndarray:
        """(B,) expected payout of each lineup entered alone against the field: the same numbers
        as payouts(lineups).mean(axis=1), read from a per-scenario table (no search) block by
        block, scenario-major, so each scenario's reads stay in one cached row."""
        lookup = self._payout_lookup
        L = np.asarray(lineups, dtype=np.int64)
        if lookup is None:
            return tie_split_payout(*self._ranked(L), self.cum).mean(axis=1)
        units, shift, width, code, values = lookup
        S, W = code.shape
        flat = code.ravel()
        # each scenario's first cell, in the levels' integers when every cell index fits
        row0 = (np.arange(S, dtype=np.int64) * W)[:, None]
        if S * W < 2**31 - 1:
            row0 = row0.astype(units.dtype)
        out = np.empty(L.shape[0])
        for a in range(0, L.shape[0], block):
            part = L[a : a + block]
            lev = units[:, part[:, 0]]  # (S, b): scenario-major, whole numbers as the scores
            for j in range(1, part.shape[1]):
                lev += units[:, part[:, j]]
            lev += shift
            np.clip(lev, 0, width, out=lev)
            lev += row0
            # (b, S) in the scenario-major memory of field_rank's counts: the same sums
            codes = np.take(flat, np.ascontiguousarray(lev))
            out[a : a + block] = np.take(values, codes).T.mean(axis=1)
        return out

    def _ranked(self, L):
        b, t = self.field_rank(self.scores(L))
        return b, t + 1

    def payouts(self, lineups: np.ndarray) -> np.ndarray:
        """(B, S) payout of each lineup entered alone against the field."""
        b, t = self.field_rank(self.scores(lineups))
        return tie_split_payout(b, t + 1, self.cum)

    def value(self, lineups: np.ndarray, kind: str = "ev") -> np.ndarray:
        """(B,) objective: 'ev' expected payout, 'top1' chance of a top-1 % place."""
        if kind == "ev":
            if self.by_lookup:
                return self.alone_payouts(lineups)
            return self.payouts(lineups).mean(axis=1)
        if kind == "top1":
            b, _ = self.field_rank(self.scores(lineups))
            return (b < self.top1_place).mean(axis=1)
        raise ValueError(f"unknown objective {kind!r}")


# ----------------------------------------------------------------------------- MCMC


@dataclass
class MCMCResult:
    lineups: np.ndarray  # (U, R) distinct lineups visited, ascending rows
    values: np.ndarray  # (U,) objective of each
    visits: np.ndarray  # (U,) visits by the coldest chains
    acceptance: np.ndarray  # (T,) acceptance rate per temperature
    swap_acceptance: float
    betas: np.ndarray  # (T,)
    trace_mean: np.ndarray  # (steps // thin,) mean objective of the coldest chains
    trace_best: np.ndarray  # (steps // thin,) best objective seen so far
    scale: float
    info: dict = field(default_factory=dict)


def random_valid_lineups(
    n: int,
    salaries,
    roster_size: int,
    salary_cap: float,
    min_salary: float,
    rng: np.random.Generator,
    steering=None,
) -> np.ndarray:
    """Uniform-ish valid starting lineups (drawn slot by slot, rejection on the floor); under a
    steering, lineups that keep every per-lineup rule (`random_steered_lineups`)."""
    from nascar_pipeline.core.contest import generate_field

    if steering is not None:
        return random_steered_lineups(n, steering, rng, min_salary=min_salary)
    return generate_field(
        np.ones(len(salaries)),
        salaries,
        roster_size,
        salary_cap,
        n,
        min_salary=min_salary,
        rng=rng,
        calibrate_iters=0,
    )


def random_steered_lineups(
    n: int, steering, rng: np.random.Generator, *, min_salary: float = 0.0, rounds: int = 30
) -> np.ndarray:
    """n lineups keeping every per-lineup rule of a SteeringArrays: the locks, then the open
    slots drawn uniformly among allowed drivers whose salary still fits (the cheapest allowed
    drivers reserved for the slots after), rejected on the floor and the groups. Any still
    missing after `rounds` draws are exact solves with random objectives (check_feasible has
    proved one exists)."""
    from nascar_pipeline.core.optimize import InfeasibleError, optimize_lineups

    sal = steering.salaries
    D, R = sal.size, steering.roster_size
    floor = max(float(min_salary), steering.salary_floor)
    locked = np.zeros(D, dtype=bool)
    locked[steering.locks] = True
    allowed = np.ones(D, dtype=bool)
    allowed[steering.banned] = False
    allowed &= ~locked
    open_slots = R - int(locked.sum())
    reserve = np.concatenate([[0.0], np.cumsum(np.sort(sal[allowed]))])
    got: list[np.ndarray] = []
    have = 0
    for _ in range(rounds):
        if have >= n:
            break
        m = max(2 * (n - have), 16)
        picks = np.tile(steering.locks, (m, 1))
        spent = np.full(m, float(sal[steering.locks].sum()))
        avail = np.tile(allowed, (m, 1))
        dead = np.zeros(m, dtype=bool)
        cols = [picks]
        for slot in range(open_slots):
            budget = steering.salary_cap - spent - reserve[open_slots - slot - 1]
            ok = avail & (sal[None, :] <= budget[:, None] + 1e-9)
            cnt = ok.sum(axis=1)
            dead |= cnt == 0
            u = rng.random(m) * np.maximum(cnt, 1)
            d = np.minimum((np.cumsum(ok, axis=1) <= u[:, None]).sum(axis=1), D - 1)
            cols.append(d[:, None])
            spent += sal[d]
            avail[np.arange(m), d] = False
        L = np.sort(np.hstack(cols).astype(np.int64), axis=1)
        good = ~dead & steering.lineup_ok(L) & (sal[L].sum(axis=1) >= floor - 1e-9)
        if good.any():
            got.append(L[good])
            have += int(good.sum())
    out = np.vstack(got)[:n] if got else np.empty((0, R), dtype=np.int64)
    if len(out) < n:
        extra = []
        for _ in range(min(n - len(out), 64)):
            try:
                with SOLVER_LOCK:  # HiGHS: one solve at a time (core/highs_banner.py)
                    r = optimize_lineups(
                        rng.random(D),
                        sal,
                        R,
                        steering.salary_cap,
                        k=1,
                        locks=steering.locks,
                        excludes=steering.banned,
                        min_salary=floor,
                        groups=steering.groups,
                        method="milp",
                    )
            except InfeasibleError as e:
                raise ValueError(f"no lineup keeps the steering: {e}") from e
            extra.append(r.lineups[0])
        E = np.vstack(extra)
        E = np.tile(E, (int(np.ceil((n - len(out)) / len(E))), 1))[: n - len(out)]
        out = np.vstack([out, E]) if len(out) else E
    return out


class _SwapRules:
    """What a one-driver swap must keep under a steering: locked drivers stay, banned ones stay
    out, every group's count stays within its bounds."""

    def __init__(self, steering, D: int):
        self.locked = np.zeros(D, dtype=bool)
        self.allowed = np.ones(D, dtype=bool)
        self.n_open = None
        self.M = np.zeros((0, D), dtype=np.int64)
        if steering is None:
            return
        self.locked[steering.locks] = True
        self.allowed[steering.banned] = False
        self.allowed &= ~self.locked
        self.n_open = steering.roster_size - int(self.locked.sum())
        if steering.groups:
            self.M = np.zeros((len(steering.groups), D), dtype=np.int64)
            for g, rule in enumerate(steering.groups):
                self.M[g, rule.members] = 1
            self.lo = np.array([g.at_least for g in steering.groups])[None, :, None]
            self.hi = np.array([g.at_most for g in steering.groups])[None, :, None]

    def slots(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A uniformly drawn unlocked slot per chain."""
        B, R = x.shape
        if self.n_open is None:
            return rng.integers(0, R, size=B)
        unl = ~self.locked[x]
        u = rng.integers(0, max(self.n_open, 1), size=B)
        return np.argmax(np.cumsum(unl, axis=1) > u[:, None], axis=1)

    def mask(self, x: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """(B, D) drivers the swap may bring in (salary not checked here)."""
        B = x.shape[0]
        ok = np.broadcast_to(self.allowed, (B, self.allowed.size)).copy()
        if self.n_open == 0:
            ok[:] = False
        if self.M.shape[0]:
            cnt = self.M[:, x].sum(axis=2).T  # (B, G)
            out = self.M[:, x[np.arange(B), slot]].T  # (B, G)
            new = (cnt - out)[:, :, None] + self.M[None, :, :]  # (B, G, D)
            ok &= ((new >= self.lo) & (new <= self.hi)).all(axis=1)
        return ok


def _n_valid_swaps(lineups, slot, sal, cap, floor):
    """For each chain: mask (B, D) of drivers that may replace lineups[:, slot]."""
    B, R = lineups.shape
    D = sal.size
    rest = sal[lineups].sum(axis=1) - sal[lineups[np.arange(B), slot]]
    new_tot = rest[:, None] + sal[None, :]
    ok = (new_tot <= cap + 1e-9) & (new_tot >= floor - 1e-9)
    inlu = np.zeros((B, D), dtype=bool)
    inlu[np.repeat(np.arange(B), R), lineups.ravel()] = True
    return ok & ~inlu


def mh_sample(
    objective_fn,
    salaries,
    roster_size: int,
    salary_cap: float,
    *,
    min_salary: float = 0.0,
    n_chains: int = 8,
    n_temps: int = 4,
    steps: int = 2000,
    beta_max: float = 3.0,
    beta_ratio: float = 0.5,
    swap_every: int = 10,
    thin: int = 10,
    init: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    steering=None,
) -> MCMCResult:
    """Parallel-tempering Metropolis-Hastings over valid lineups.

    objective_fn: (B, R) int -> (B,) float (higher is better). The objective is divided by a scale
    (its spread over the starting lineups) so beta is unitless. n_chains chains per temperature;
    betas = beta_max * beta_ratio ** k for k = 0..n_temps-1 (k = 0 is the cold, target chain).
    steering: a SteeringArrays (core/steering.py); every lineup visited then keeps its locks,
    excludes, groups and salary floor (the floor is the larger of it and min_salary).
    """
    rng = rng or np.random.default_rng()
    sal = np.asarray(salaries, dtype=np.float64)
    R = roster_size
    T = n_temps
    B = n_chains * T
    if steering is not None:
        if (steering.roster_size, steering.salary_cap) != (R, salary_cap):
            raise ValueError("the steering is for another roster size or salary cap")
        min_salary = max(float(min_salary), steering.salary_floor)
    swaps = _SwapRules(steering, sal.size)
    betas = beta_max * beta_ratio ** np.arange(T)
    chain_beta = np.repeat(betas, n_chains)  # chain c has temperature c // n_chains
    if init is not None and len(init) > 0 and steering is not None:
        init = np.asarray(init, dtype=np.int64)
        init = init[steering.lineup_ok(init) & (sal[init].sum(axis=1) >= min_salary - 1e-9)]
    if init is not None and len(init) > 0:
        reps = int(np.ceil(B / len(init)))
        x = np.tile(np.asarray(init, dtype=np.int64), (reps, 1))[:B].copy()
    else:
        x = random_valid_lineups(B, sal, R, salary_cap, min_salary, rng, steering)
    fx = np.asarray(objective_fn(x), dtype=np.float64)
    probe = random_valid_lineups(64, sal, R, salary_cap, min_salary, rng, steering)
    pv = np.asarray(objective_fn(probe), dtype=np.float64)
    scale = float(max(np.std(np.concatenate([pv, fx])), np.abs(fx).max() * 1e-3, 1e-12))
    accepted = np.zeros(T)
    proposed = np.zeros(T)
    swaps_acc = swaps_prop = 0
    seen: dict[bytes, int] = {}
    values: dict[bytes, float] = {}
    lineups_by_key: dict[bytes, np.ndarray] = {}
    trace_mean, trace_best = [], []
    best = -np.inf
    cold = slice(0, n_chains)

    def record(rows, vals, count_visits):
        for r, v, cv in zip(rows, vals, count_visits):
            srt = np.sort(r)
            k = srt.tobytes()
            if k not in values:
                values[k] = float(v)
                lineups_by_key[k] = srt
                seen[k] = 0
            if cv:
                seen[k] += 1

    record(x, fx, np.arange(B) < n_chains)
    ar = np.arange(B)
    for step in range(steps):
        slot = swaps.slots(x, rng)
        mask = _n_valid_swaps(x, slot, sal, salary_cap, min_salary)
        if steering is not None:
            mask &= swaps.mask(x, slot)
        n_fwd = mask.sum(axis=1)
        movable = n_fwd > 0
        # choose a replacement uniformly among valid swaps
        u = rng.random(B) * np.maximum(n_fwd, 1)
        cdf = np.cumsum(mask, axis=1)
        new_d = np.minimum((cdf <= u[:, None]).sum(axis=1), sal.size - 1)
        y = x.copy()
        y[ar, slot] = new_d
        # reverse move: from y, choose the same slot and swap back
        rev = _n_valid_swaps(y, slot, sal, salary_cap, min_salary)
        if steering is not None:
            rev &= swaps.mask(y, slot)
        n_rev = rev.sum(axis=1)
        fy = np.asarray(objective_fn(y), dtype=np.float64)
        log_a = (
            chain_beta * (fy - fx) / scale
            + np.log(np.maximum(n_fwd, 1))
            - np.log(np.maximum(n_rev, 1))
        )
        acc = movable & (np.log(rng.random(B)) < log_a)
        for t in range(T):
            sl = slice(t * n_chains, (t + 1) * n_chains)
            proposed[t] += movable[sl].sum()
            accepted[t] += acc[sl].sum()
        x = np.where(acc[:, None], y, x)
        fx = np.where(acc, fy, fx)
        record(x[acc], fx[acc], (ar < n_chains)[acc])
        # cold chains that stayed still still count a visit
        stay = ~acc & (ar < n_chains)
        for r in x[stay]:
            seen[np.sort(r).tobytes()] += 1
        if swap_every and T > 1 and (step + 1) % swap_every == 0:
            for t in range(T - 1):
                i = np.arange(t * n_chains, (t + 1) * n_chains)
                j = i + n_chains
                la = (betas[t] - betas[t + 1]) * (fx[j] - fx[i]) / scale
                ok = np.log(rng.random(n_chains)) < la
                swaps_prop += n_chains
                swaps_acc += int(ok.sum())
                ii, jj = i[ok], j[ok]
                x[ii], x[jj] = x[jj].copy(), x[ii].copy()
                fx[ii], fx[jj] = fx[jj].copy(), fx[ii].copy()
        best = max(best, float(fx.max()))
        if (step + 1) % thin == 0:
            trace_mean.append(float(fx[cold].mean()))
            trace_best.append(best)
    keys = list(values.keys())
    L = np.vstack([lineups_by_key[k] for k in keys]) if keys else np.empty((0, R), np.int64)
    return MCMCResult(
        lineups=L,
        values=np.array([values[k] for k in keys]),
        visits=np.array([seen[k] for k in keys], dtype=np.int64),
        acceptance=accepted / np.maximum(proposed, 1),
        swap_acceptance=swaps_acc / max(swaps_prop, 1),
        betas=betas,
        trace_mean=np.array(trace_mean),
        trace_best=np.array(trace_best),
        scale=scale,
        info={"n_chains": n_chains, "n_temps": T, "steps": steps, "distinct": len(keys)},
    )


# ----------------------------------------------------------------------------- portfolio


@dataclass
class PortfolioResult:
    chosen: np.ndarray  # (N,) indices into the candidate array, in order of choice
    lineups: np.ndarray  # (N, R)
    gains: np.ndarray  # (N,) marginal gain in expected payout at each pick
    set_value: np.ndarray  # (N,) expected payout of the set after each pick
    standalone: np.ndarray  # (N,) expected payout of each lineup alone
    n_asked: int = 0  # lineups asked for
    shortfall_reason: str = ""  # why fewer than n_asked lineups came back ("" when none short)


def taste_objective(
    obj: FieldObjective,
    projection,
    taste: float,
    probe: np.ndarray,
    kind: str = "ev",
    per_fee: float = 1.0,
):
    """The sampler's objective under a taste (core/steering.py): (B, R) -> (B,)
    (1 - taste) * projection(L) / s_proj + taste * value(L) / s_ev, the spreads taken over the
    probe lineups. taste == 1 is value / per_fee exactly (the objective before steering)."""
    if taste >= 1.0:
        return lambda L: obj.value(L, kind) / per_fee
    proj = np.asarray(projection, dtype=float)
    pv = obj.value(probe, kind)
    s_ev = float(np.std(pv)) or 1.0
    s_proj = float(np.std(proj[probe].sum(axis=1))) or 1.0
    return lambda L: (
        (1.0 - taste) * proj[L].sum(axis=1) / s_proj + taste * obj.value(L, kind) / s_ev
    )


def greedy_portfolio(
    obj: FieldObjective,
    candidates: np.ndarray,
    n_lineups: int,
    *,
    max_exposure: float | np.ndarray = 1.0,
    max_overlap: int | None = None,
    max_candidates: int = 1500,
    min_exposure: float | np.ndarray = 0.0,
    steering=None,
    projection=None,
    taste: float | None = None,
    names=None,
    reserve: np.ndarray | None = None,
    max_rebuilds: int = 6,
) -> PortfolioResult:
    """Choose up to n_lineups candidates greedily on the marginal gain of the set's expected payout.

    max_exposure / min_exposure: fraction (or (D,) fractions) of the lineups each driver may /
    must appear in: at most floor(max * n), at least ceil(min * n) of n (never raised).
    max_overlap: most drivers a new lineup may share with any chosen one (None: R - 1).
    steering: a SteeringArrays (core/steering.py); it supplies the exposures, max_overlap
    (max_shared), the taste and names, and candidates breaking a per-lineup rule are dropped.
    projection: (D,) mean points, needed when taste < 1 (pick score: taste * gain / s_ev +
    (1 - taste) * projection / s_proj).
    reserve: lineups that keep every limit together (e.g. optimize_steered's): they join the
    candidates and survive the max_candidates cut, and when the greedy gets stuck an exact
    selection (HiGHS, started from them) chooses the set instead.
    Owed min exposures are paced (a driver owed ceil(min * n) lineups is pushed in whenever he
    falls behind floor(min_count * picks / n)), then reserved at the end (see _reserve_rule).
    When the limits stop the greedy at m < n lineups it is rebuilt for fewer (at most
    max_rebuilds times; the longest prefix keeping every limit counts too), so the exposures
    hold over the lineups returned; shortfall_reason says why.
    """
    cand = np.asarray(candidates, dtype=np.int64)
    res_rows = np.zeros((0, cand.shape[1]), np.int64)
    if reserve is not None and len(reserve):
        res_rows = np.unique(np.sort(np.asarray(reserve, dtype=np.int64), axis=1), axis=0)
        cand = np.vstack([cand, res_rows])
    C = np.unique(np.sort(cand, axis=1), axis=0)
    R = C.shape[1]
    D = obj.points_q.shape[1]
    if steering is not None:
        C = C[steering.lineup_ok(C)]
        max_exposure, min_exposure = steering.max_exposure, steering.min_exposure
        max_overlap = steering.max_shared
        taste = steering.taste if taste is None else taste
        names = steering.names if names is None else names
    taste = 1.0 if taste is None else float(taste)
    if max_overlap is None:
        max_overlap = R - 1
    hi = np.broadcast_to(np.asarray(max_exposure, float), (D,))
    lo = np.broadcast_to(np.asarray(min_exposure, float), (D,))
    if taste < 1.0 and projection is None:
        raise ValueError("taste < 1 needs the drivers' projection")
    empty = PortfolioResult(
        chosen=np.zeros(0, np.int64),
        lineups=np.zeros((0, R), np.int64),
        gains=np.zeros(0),
        set_value=np.zeros(0),
        standalone=np.zeros(0),
        n_asked=n_lineups,
    )
    if C.shape[0] == 0:
        empty.shortfall_reason = f"0 of {n_lineups} lineups: no candidate keeps the steering"
        return empty
    over = C.shape[0] > max_candidates
    if over:  # ranked against the field after the cut below: the cut needs only `alone`
        alone = obj.alone_payouts(C)
    else:
        sc = obj.scores(C)  # (C, S)
        bf, tf = obj.field_rank(sc)  # vs the field
        alone = _live_payout(bf, tf + 1, obj.cum, obj.paid_end).mean(axis=1)
    s_ev = float(np.std(alone)) or 1.0
    proj_c = np.zeros(C.shape[0]) if projection is None else np.asarray(projection)[C].sum(axis=1)
    s_proj = float(np.std(proj_c)) or 1.0

    def score(gain, rows):
        if taste >= 1.0:
            return gain
        return taste * gain / s_ev + (1.0 - taste) * proj_c[rows] / s_proj

    def rows_of(L):
        """Indices into C of the lineups L (those present)."""
        if len(L) == 0 or C.shape[0] == 0:
            return np.zeros(0, np.int64)
        key = {r.tobytes(): i for i, r in enumerate(C)}
        return np.array([key[r.tobytes()] for r in L if r.tobytes() in key], dtype=np.int64)

    if over:  # keep the most promising candidates
        sc0 = score(alone, np.arange(C.shape[0]))
        keep = np.argsort(-sc0, kind="stable")[:max_candidates]
        keep = np.union1d(keep, rows_of(res_rows))
        owed = np.flatnonzero(lo > 0)
        if owed.size:  # and the best few holding each driver owed a min exposure
            inc_all = incidence(C, D).astype(bool)
            order = np.argsort(-sc0, kind="stable")
            need = np.ceil(lo * n_lineups - 1e-9).astype(np.int64)
            extra = [order[inc_all[order, d]][: 3 * need[d] + 3] for d in owed]
            keep = np.union1d(keep, np.concatenate(extra))
        keep = np.sort(keep)
        C, alone, proj_c = C[keep], alone[keep], proj_c[keep]
        sc = obj.scores(C)  # (C, S)
        bf, tf = obj.field_rank(sc)  # vs the field
    inc = incidence(C, D).astype(bool)  # (C, D)
    reserve_idx = rows_of(res_rows)
    S = obj.n_scenarios
    # The (candidate, scenario) pairs in the money against the field alone, compacted once:
    # elsewhere a candidate's own payout and its loss terms are exactly 0 (_marginal_gains), so
    # the per-pick gains and the chosen-below / tied counts are kept for these pairs only.
    money = _MoneyEntries.of(sc, bf, tf, obj.paid_end)

    def who(d):
        return str(names[d]) if names is not None else f"driver index {d}"

    def build(n, pool=None):
        from nascar_pipeline.core.optimize import _behind_pace, _reserve_rule

        cap = np.floor(hi * n + 1e-9).astype(np.int64)
        need = np.ceil(lo * n - 1e-9).astype(np.int64)
        alive = np.ones(C.shape[0], dtype=bool)
        if pool is not None:
            alive[:] = False
            alive[pool] = True
        alive &= ~inc[:, cap <= 0].any(axis=1)
        counts = np.zeros(D, dtype=np.int64)
        chosen, gains, set_vals = [], [], []
        ch_scores = np.empty((S, 0))
        ch_gt = np.empty((S, 0), dtype=np.int64)  # chosen lineups above each chosen lineup
        ch_eq = np.empty((S, 0), dtype=np.int64)  # chosen lineups tied with it (itself too)
        losses = np.zeros((S, 1))  # the empty set's (_chosen_losses), replaced at each pick
        lazy = _LazyGains(money, alive, n, _LazyGains.bounds_of(alone))
        ch_b = np.empty((S, 0), dtype=np.int64)  # field entries above each chosen lineup
        ch_t = np.empty((S, 0), dtype=np.int64)  # field entries tied (itself excluded)
        reason = ""
        while len(chosen) < n:
            rule = _reserve_rule(need, counts, n - len(chosen), R)
            if isinstance(rule, str):
                reason = "the min exposures can no longer be met"
                break
            forced, owed, k_need = rule
            ok = alive.copy()
            if k_need > 0:
                ok &= inc[:, owed].sum(axis=1) >= k_need
            idx = np.zeros(0, np.int64)
            paced = _behind_pace(need, counts, len(chosen), n, forced, R)
            if paced is not None:
                idx = np.flatnonzero(ok & inc[:, paced].all(axis=1))
            if idx.size == 0:
                idx = np.flatnonzero(ok & inc[:, forced].all(axis=1) if forced.size else ok)
            if idx.size == 0:
                full = np.flatnonzero((counts >= cap) & (cap > 0))
                if not alive.any():
                    reason = (
                        "every other candidate breaks a limit: "
                        + (
                            "at their max exposure: "
                            + ", ".join(f"{who(d)} ({counts[d]} of {n})" for d in full[:6])
                            + "; "
                            if full.size
                            else ""
                        )
                        + f"or shares more than {max_overlap} drivers with a chosen lineup"
                    )
                else:
                    reason = (
                        "no candidate left holds "
                        + ", ".join(who(d) for d in (forced if forced.size else owed)[:6])
                        + " (min exposure)"
                    )
                break
            if ch_scores.shape[1] == 0:
                gain = alone[idx]
                pos = int(np.argmax(score(gain, idx)))
                g = float(gain[pos])
            else:
                pos, g = lazy.pick(idx, score, losses, obj.cum)
            j = int(idx[pos])
            chosen.append(j)
            gains.append(g)
            # the set's own counts (chosen above / tied with each chosen lineup), pick by pick
            v = sc[j][:, None]
            ch_gt = np.concatenate(
                [ch_gt + (v > ch_scores), (ch_scores > v).sum(1, keepdims=True)], 1
            )
            ch_eq = np.concatenate(
                [ch_eq + (v == ch_scores), (ch_scores == v).sum(1, keepdims=True) + 1], 1
            )
            ch_scores = np.concatenate([ch_scores, v], axis=1)
            ch_b = np.concatenate([ch_b, bf[j][:, None]], axis=1)
            ch_t = np.concatenate([ch_t, tf[j][:, None]], axis=1)
            # the set's payouts and, for the next pick, its losses
            pay, losses = _set_payout_and_losses(ch_scores, ch_b, ch_t, obj.cum, ch_gt, ch_eq)
            set_vals.append(float(pay.sum(axis=1).mean()))
            # constraints for the next rounds
            counts[C[j]] += 1
            alive[j] = False
            full = counts >= cap
            if full.any():
                alive &= ~inc[:, full].any(axis=1)
            alive &= inc[:, C[j]].sum(axis=1) <= max_overlap
            lazy.add_pick(sc[j], alive)
        return chosen, gains, set_vals, reason

    def valid_prefix(chosen):
        m = len(chosen)
        while m > 0:
            cnt = np.bincount(C[chosen[:m]].ravel(), minlength=D)
            if np.all(cnt <= np.floor(hi * m + 1e-9)) and np.all(cnt >= np.ceil(lo * m - 1e-9)):
                break
            m -= 1
        return m

    n = n_lineups
    first_reason = ""
    best = ([], [], [], "")
    for _ in range(max_rebuilds + 1):
        chosen, gains, set_vals, reason = build(n)
        if len(chosen) < n:  # the greedy got stuck: an exact selection over the best candidates
            sel = _select_exact(
                inc, score(alone, np.arange(C.shape[0])), n, hi, lo, max_overlap, reserve_idx
            )
            if sel is not None:
                chosen, gains, set_vals, _ = build(n, pool=sel)
        if len(chosen) == n:
            best = (chosen, gains, set_vals, "")
            break
        first_reason = first_reason or reason
        m = valid_prefix(chosen)  # a prefix keeps the limits as shares of its own length
        if m > len(best[0]):
            best = (chosen[:m], gains[:m], set_vals[:m], reason)
        if len(chosen) <= len(best[0]):
            break
        # rebuild for what was reached (the exposures are shares of what is returned), then
        # leave as much room again each time that falls short
        reached = len(chosen)
        n = reached if n == n_lineups else max(len(best[0]) + 1, reached - (n - reached))
    chosen, gains, set_vals, reason = best
    ch = np.array(chosen, dtype=np.int64)
    short = ""
    if len(ch) < n_lineups:
        short = f"{len(ch)} of {n_lineups} lineups: {first_reason or reason}"
        if first_reason:
            short += "; fewer lineups keep each exposure as a share of the lineups returned"
    return PortfolioResult(
        chosen=ch,
        lineups=C[ch] if len(ch) else np.zeros((0, R), np.int64),
        gains=np.array(gains),
        set_value=np.array(set_vals),
        standalone=alone[ch] if len(ch) else np.zeros(0),
        n_asked=n_lineups,
        shortfall_reason=short,
    )


EXACT_SELECTION_MAX = 400  # candidates the exact selection chooses among, at most


def _select_exact(inc, score, n, hi, lo, max_overlap, start=None, time_limit_s: float = 10.0):
    """n candidates maximizing the sum of their scores under the exposure limits (as shares of
    n) and the overlap limit: a 0/1 MILP (HiGHS) over the best EXACT_SELECTION_MAX candidates,
    the best few holding each driver owed a min exposure and the `start` candidates (a set
    known to keep the limits: the solver starts from it when it has n lineups). None when none
    is found."""
    import highspy

    from nascar_pipeline.core.highs_banner import silence_banner

    silence_banner()
    Cn, D = inc.shape
    cap = np.floor(hi * n + 1e-9)
    need = np.ceil(lo * n - 1e-9)
    usable = ~inc[:, cap <= 0].any(axis=1)
    order = np.flatnonzero(usable)[np.argsort(-score[usable], kind="stable")]
    start = np.zeros(0, np.int64) if start is None else np.asarray(start, np.int64)
    pick = [order[:EXACT_SELECTION_MAX], start[usable[start]]]
    for d in np.flatnonzero(need > 0):
        pick.append(order[inc[order, d]][:20])
    idx = np.unique(np.concatenate(pick))
    if idx.size < n:
        return None
    A = inc[idx].astype(np.float64)  # (c, D)
    c = idx.size
    with SOLVER_LOCK:  # HiGHS: one solve at a time (core/highs_banner.py)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("time_limit", float(time_limit_s))
        sc = np.asarray(score, dtype=float)[idx]
        h.addVars(c, np.zeros(c), np.ones(c))
        h.changeColsIntegrality(
            c, np.arange(c, dtype=np.int32), [highspy.HighsVarType.kInteger] * c
        )
        h.changeColsCost(c, np.arange(c, dtype=np.int32), -(sc - sc.min() + 1e-3))
        h.addRow(float(n), float(n), c, np.arange(c, dtype=np.int32), np.ones(c))
        for d in range(D):
            col = np.flatnonzero(A[:, d])
            if col.size and (cap[d] < col.size or need[d] > 0):
                h.addRow(
                    float(need[d]), float(cap[d]), col.size, col.astype(np.int32), np.ones(col.size)
                )
            elif need[d] > 0:
                return None
        shared = A @ A.T
        ii, jj = np.nonzero(np.triu(shared > max_overlap, 1))
        for i, j in zip(ii.tolist(), jj.tolist()):
            h.addRow(-highspy.kHighsInf, 1.0, 2, np.array([i, j], dtype=np.int32), np.ones(2))
        if start.size == n:
            x0 = highspy.HighsSolution()
            x0.col_value = np.isin(idx, start).astype(float).tolist()
            x0.value_valid = True
            h.setSolution(x0)
        h.run()
        sol = h.getSolution()
        del h  # freed under the lock too
    if not sol.value_valid:
        return None
    x = np.asarray(sol.col_value) > 0.5
    chosen = idx[x]
    if chosen.size != n:
        return None
    cnt = inc[chosen].sum(axis=0)
    ov = inc[chosen].astype(np.int64) @ inc[chosen].T.astype(np.int64)
    np.fill_diagonal(ov, 0)
    if np.any(cnt > cap) or np.any(cnt < need) or np.any(ov > max_overlap):
        return None
    return chosen


def _paid_end(cum: np.ndarray) -> int:
    """The first place index from which the prize prefix sums `cum` stay at their total."""
    grows = np.flatnonzero(cum != cum[-1])
    return int(grows[-1]) + 1 if grows.size else 0


def _live_payout(better, tied, cum, paid_end: int) -> np.ndarray:
    """tie_split_payout(better, tied, cum), computed only where better < paid_end: every other
    entry is paid exactly 0 (the same values, fewer of them computed)."""
    live = better < paid_end
    out = np.zeros_like(better, dtype=np.float64)  # the counts' memory order: the same sums
    out[live] = tie_split_payout(better[live], tied[live], cum)
    return out


@dataclass
class _MoneyEntries:
    """The (candidate, scenario) pairs where a candidate is in the money against the field
    alone, in row-major order: candidate row, scenario, score, field entries above and tied."""

    row: np.ndarray
    scen: np.ndarray
    score: np.ndarray
    better: np.ndarray
    tied: np.ndarray
    n_candidates: int
    n_scenarios: int
    paid_end: int = 0

    @classmethod
    def of(cls, scores, better, tied, paid_end: int) -> _MoneyEntries:
        C, S = scores.shape
        at = np.flatnonzero((better < paid_end).ravel())
        return cls(
            row=(at // S).astype(np.int32),
            scen=(at % S).astype(np.int32),
            score=scores.ravel()[at],
            better=better.ravel()[at],
            tied=tied.ravel()[at],
            n_candidates=C,
            n_scenarios=S,
            paid_end=int(paid_end),
        )


# An upper bound of a gain is raised by this share (and UB_SLACK) so that the bound, summed in
# another order than the gain, never falls below it by a rounding
UB_SHARE = 1e-9
UB_SLACK = 1e-12


class _LazyGains:
    """One greedy build's picks by lazy evaluation of the marginal gains.

    A candidate's gain is at most its own payout against the field and the chosen set (its
    loss terms are >= 0), and that payout only falls as the set grows (more chosen lineups
    above or tied). So each candidate keeps the last own payout computed for it (at first its
    payout alone) as an upper bound, and each pick computes exact gains in the order of the
    bounds, a batch at a time, until the best exact score beats every bound not yet computed.
    The pick is the plain greedy's (the highest score, the first by index among equal ones)
    and its gain the same number, at the cost of the candidates near the top, not all.

    The gains read the (candidate, scenario) pairs in the money against the field alone
    (_MoneyEntries: elsewhere a candidate's own payout and loss terms are exactly 0), each with
    its entries above (field and chosen) and chosen lineups below, counted pick by pick (one
    comparison with the new pick, not a search of the set). A pair dies for good when its
    candidate dies, or when the field and the chosen lineups above it fill every paid place:
    the chosen lineups at or above a candidate only grow pick by pick, so its own payout there
    stays exactly 0, and so does its loss term (every chosen lineup below it has at least as
    many entries above, all paid 0). Dead pairs are dropped whenever a quarter of the kept
    ones has died; a candidate's pairs stay in one run, in scenario order, so its gain is the
    same sum whatever else is dropped."""

    def __init__(self, money: _MoneyEntries, alive: np.ndarray, n: int, bound: np.ndarray):
        self.money = money
        self.n_chosen = 0
        self.bound = bound  # (C,) each candidate's upper bound of its gain
        # the counts in the smallest integers that hold them (a place count plus n chosen):
        # less memory read per pick
        top = 2 * (int(money.better.max(initial=0)) + int(money.tied.max(initial=0))) + n + 2
        small = np.int16 if top < 2**15 else np.int32
        self.row, self.scen, self.score = money.row, money.scen, money.score
        self.above = money.better.astype(small)  # entries above: the field's, then chosen too
        self.below = np.zeros(self.row.size, dtype=small)  # chosen lineups below
        # entries tied = base + n chosen - above - below (base: the field's tied + better + 1
        # for the candidate itself, as chosen ties are those neither above nor below)
        self.base = (money.tied + money.better + 1).astype(small)
        self._compact(alive[self.row])

    @classmethod
    def bounds_of(cls, alone: np.ndarray) -> np.ndarray:
        """The bounds before any pick: the payouts alone, raised by UB_SHARE and UB_SLACK (a
        bound summed in another order than the gain must never fall below it by a rounding)."""
        return np.asarray(alone, dtype=np.float64) * (1 + UB_SHARE) + UB_SLACK

    def _compact(self, keep: np.ndarray) -> None:
        at = np.flatnonzero(keep)
        for name in ("row", "scen", "score", "above", "below", "base"):
            setattr(self, name, getattr(self, name)[at])
        self.start = np.searchsorted(self.row, np.arange(self.money.n_candidates + 1))
        self.pairs_of = np.diff(self.start)

    def add_pick(self, pick_scores: np.ndarray, alive: np.ndarray) -> None:
        """Count the new pick (its (S,) scores) above / below each kept pair."""
        v = pick_scores[self.scen]
        self.above += v > self.score
        self.below += v < self.score
        self.n_chosen += 1
        gone = np.count_nonzero(self.above >= self.money.paid_end)
        gone += int(self.pairs_of[~alive].sum())  # may count a pair twice: a hint only
        if gone > 0.25 * self.row.size:
            self._compact(alive[self.row] & (self.above < self.money.paid_end))

    def exact(self, rows: np.ndarray, losses: np.ndarray, cum: np.ndarray):
        """(gains, own payouts) of the candidates rows: _marginal_gains with the kept counts
        (each row's sum over its pairs; zeros out of the money left out), and each one's mean
        payout against the field and the chosen set. losses: _chosen_losses, (S, n + 1)."""
        S = self.money.n_scenarios
        n = losses.shape[1] - 1
        st = self.start[rows]
        lens = self.pairs_of[rows]
        local = np.repeat(np.arange(rows.size), lens)
        at = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens - st, lens)
        above, below = self.above[at], self.below[at]
        tied = self.base[at] + (n - above - below)  # field, chosen and itself
        own = tie_split_payout(above, tied, cum)
        net = own - losses.ravel()[self.scen[at] * (n + 1) + below]
        gain = np.bincount(local, weights=net, minlength=rows.size) / S
        return gain, np.bincount(local, weights=own, minlength=rows.size) / S

    def pick(self, idx, score, losses, cum) -> tuple[int, float]:
        """(position in idx, gain) of the greedy's pick among the candidates idx (ascending);
        score(gain, rows): the pick's score, increasing in the gain."""
        bound = self.bound
        order = idx[np.argsort(-score(bound[idx], idx), kind="stable")]
        tops = score(bound[order], order)
        best_s, best_j, best_g = -np.inf, -1, 0.0
        done, batch = 0, 32
        while done < order.size and tops[done] >= best_s:
            rows = order[done : done + batch]
            gain, own = self.exact(rows, losses, cum)
            bound[rows] = own * (1 + UB_SHARE) + UB_SLACK
            s = score(gain, rows)
            top = s.max()
            j = int(rows[s == top].min())
            if top > best_s or (top == best_s and j < best_j):
                best_s, best_j, best_g = top, j, float(gain[np.flatnonzero(rows == j)[0]])
            done += rows.size
            batch *= 2
        return int(np.searchsorted(idx, best_j)), best_g


def _chosen_losses(ch_scores, ch_b, ch_t, cum) -> np.ndarray:
    """(S, n + 1): per scenario, the chosen set's loss when a candidate beats the k lowest of
    its n lineups (k = 0..n): the sum of their deltas pay(b_i, t_i) - pay(b_i + 1, t_i)."""
    return _set_payout_and_losses(ch_scores, ch_b, ch_t, cum)[1]


def _set_payout_and_losses(
    ch_scores, ch_b, ch_t, cum, gt=None, eq=None
) -> tuple[np.ndarray, np.ndarray]:
    """((S, n) exact payouts against the field and each other, _chosen_losses' (S, n + 1)
    losses) of the chosen set, from one count of the set's lineups above (gt) and tied with (eq, itself included) each
    other: counted here unless given (the greedy keeps them pick by pick)."""
    S, n = ch_scores.shape
    if gt is None or eq is None:
        gt = (ch_scores[:, None, :] > ch_scores[:, :, None]).sum(axis=2)
        eq = (ch_scores[:, None, :] == ch_scores[:, :, None]).sum(axis=2)
    b = ch_b + gt
    t = ch_t + eq
    pay = tie_split_payout(b, t, cum)
    delta = pay - tie_split_payout(b + 1, t, cum)  # (S, n)
    order = np.argsort(ch_scores, axis=1, kind="stable")
    dsrt = np.take_along_axis(delta, order, axis=1)
    return pay, np.concatenate([np.zeros((S, 1)), np.cumsum(dsrt, axis=1)], axis=1)


def _marginal_gains(
    cand_scores, cand_b, cand_t, ch_scores, ch_b, ch_t, cum, below=None, level=None
) -> np.ndarray:
    """(C,) marginal gain in expected total payout of adding each candidate to the chosen set.

    cand_*: (C, S); ch_*: (S, n). For chosen lineup i with b_i entries above (field + chosen) and
    t_i tied, a candidate that beats it moves it from places b_i+1.. to b_i+2..: loss
    delta_i = pay(b_i, t_i) - pay(b_i + 1, t_i). Per scenario, chosen scores are sorted and the
    deltas summed from the bottom, so one flat searchsorted gives each candidate's loss and its
    count of chosen lineups above / tied. `below` and `level` (C, S), when given, are those counts
    already (chosen scoring below / the same as each candidate): the search is skipped.
    """
    S, n = ch_scores.shape
    gt = (ch_scores[:, None, :] > ch_scores[:, :, None]).sum(axis=2)
    eq = (ch_scores[:, None, :] == ch_scores[:, :, None]).sum(axis=2)
    b = ch_b + gt
    t = ch_t + eq
    delta = tie_split_payout(b, t, cum) - tie_split_payout(b + 1, t, cum)  # (S, n)
    order = np.argsort(ch_scores, axis=1, kind="stable")
    srt = np.take_along_axis(ch_scores, order, axis=1)
    dsrt = np.take_along_axis(delta, order, axis=1)
    cdelta = np.concatenate([np.zeros((S, 1)), np.cumsum(dsrt, axis=1)], axis=1)  # (S, n+1)
    if below is not None:  # the counts the caller kept: chosen below and tied, per scenario
        # a candidate out of the money against the field alone is paid 0 and beats no chosen
        # lineup in the money (its loss terms are 0 too): only its other scenarios are computed
        live = cand_b < _paid_end(cum)
        net = np.zeros(cand_b.shape)  # own payout - loss: 0 out of the money
        tied = level[live]
        left = below[live].astype(np.int64)
        own = tie_split_payout(cand_b[live] + (n - left - tied), cand_t[live] + tied + 1, cum)
        row = np.broadcast_to((np.arange(S) * (n + 1))[None, :], live.shape)[live]
        net[live] = own - cdelta.ravel()[row + left]
        return net.mean(axis=1)
    lo = min(srt.min(), cand_scores.min()) - 1.0
    hi = max(srt.max(), cand_scores.max()) + 1.0
    span = hi - lo + 1.0
    off = np.arange(S, dtype=np.float64) * span
    flat = (srt - lo + off[:, None]).ravel()
    q = cand_scores - lo + off[None, :]  # (C, S)
    left = np.searchsorted(flat, q.ravel(), "left").reshape(q.shape) - (np.arange(S) * n)[None, :]
    right = np.searchsorted(flat, q.ravel(), "right").reshape(q.shape) - (np.arange(S) * n)[None, :]
    above = n - right  # chosen strictly above the candidate
    tied = right - left
    own = tie_split_payout(cand_b + above, cand_t + tied + 1, cum)
    loss = cdelta[np.arange(S)[None, :], left]  # chosen strictly below the candidate
    return (own - loss).mean(axis=1)
