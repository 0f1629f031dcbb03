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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nascar_pipeline.core.contest import PayoutTable, incidence, quantize_points, tie_split_payout


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

    @classmethod
    def build(
        cls,
        points,
        field_lineups,
        table: PayoutTable,
        n_ours: int = 1,
        prize_cap: float | None = None,
    ) -> FieldObjective:
        """prize_cap: cap each place's prize (e.g. 100 x the fee) to temper the heavy tail of a GPP
        table when the objective drives a search (fewer lineups chosen for one lucky scenario).

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
        )

    @property
    def n_scenarios(self) -> int:
        return self.points_q.shape[0]

    def scores(self, lineups: np.ndarray) -> np.ndarray:
        """(B, S) quantized scores of a batch of lineups."""
        L = np.asarray(lineups, dtype=np.int64)
        return self.points_q[:, L].sum(axis=2).T

    def field_rank(self, scores: np.ndarray):
        """(better, tied-with-field) for (B, S) scores against the field."""
        q = scores - self.lo + self.offsets[None, :]
        flat = self.field_sorted.ravel()
        left = np.searchsorted(flat, q.ravel(), "left").reshape(q.shape)
        right = np.searchsorted(flat, q.ravel(), "right").reshape(q.shape)
        base = (np.arange(self.n_scenarios) * self.n_kept)[None, :]
        # below the kept scores the count above is clipped to K: out of the money either way
        return self.n_kept - (right - base), right - left

    def payouts(self, lineups: np.ndarray) -> np.ndarray:
        """(B, S) payout of each lineup entered alone against the field."""
        b, t = self.field_rank(self.scores(lineups))
        return tie_split_payout(b, t + 1, self.cum)

    def value(self, lineups: np.ndarray, kind: str = "ev") -> np.ndarray:
        """(B,) objective: 'ev' expected payout, 'top1' chance of a top-1 % place."""
        if kind == "ev":
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
) -> np.ndarray:
    """Uniform-ish valid starting lineups (drawn slot by slot, rejection on the floor)."""
    from nascar_pipeline.core.contest import generate_field

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
) -> MCMCResult:
    """Parallel-tempering Metropolis-Hastings over valid lineups.

    objective_fn: (B, R) int -> (B,) float (higher is better). The objective is divided by a scale
    (its spread over the starting lineups) so beta is unitless. n_chains chains per temperature;
    betas = beta_max * beta_ratio ** k for k = 0..n_temps-1 (k = 0 is the cold, target chain).
    """
    rng = rng or np.random.default_rng()
    sal = np.asarray(salaries, dtype=np.float64)
    R = roster_size
    T = n_temps
    B = n_chains * T
    betas = beta_max * beta_ratio ** np.arange(T)
    chain_beta = np.repeat(betas, n_chains)  # chain c has temperature c // n_chains
    if init is not None and len(init) > 0:
        reps = int(np.ceil(B / len(init)))
        x = np.tile(np.asarray(init, dtype=np.int64), (reps, 1))[:B].copy()
    else:
        x = random_valid_lineups(B, sal, R, salary_cap, min_salary, rng)
    fx = np.asarray(objective_fn(x), dtype=np.float64)
    probe = random_valid_lineups(64, sal, R, salary_cap, min_salary, rng)
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
        slot = rng.integers(0, R, size=B)
        mask = _n_valid_swaps(x, slot, sal, salary_cap, min_salary)
        n_fwd = mask.sum(axis=1)
        movable = n_fwd > 0
        # choose a replacement uniformly among valid swaps
        u = rng.random(B) * np.maximum(n_fwd, 1)
        cdf = np.cumsum(mask, axis=1)
        new_d = np.minimum((cdf <= u[:, None]).sum(axis=1), sal.size - 1)
        y = x.copy()
        y[ar, slot] = new_d
        # reverse move: from y, choose the same slot and swap back
        n_rev = _n_valid_swaps(y, slot, sal, salary_cap, min_salary).sum(axis=1)
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


def greedy_portfolio(
    obj: FieldObjective,
    candidates: np.ndarray,
    n_lineups: int,
    *,
    max_exposure: float | np.ndarray = 1.0,
    max_overlap: int | None = None,
    max_candidates: int = 1500,
) -> PortfolioResult:
    """Choose up to n_lineups candidates greedily on the marginal gain of the set's expected payout.

    max_exposure: fraction (or (D,) fractions) of n_lineups each driver may appear in.
    max_overlap: most drivers a new lineup may share with any chosen one (None: R - 1).
    """
    C = np.unique(np.sort(np.asarray(candidates, dtype=np.int64), axis=1), axis=0)
    R = C.shape[1]
    D = obj.points_q.shape[1]
    S = obj.n_scenarios
    if max_overlap is None:
        max_overlap = R - 1
    cap = np.floor(np.broadcast_to(np.asarray(max_exposure, float), (D,)) * n_lineups + 1e-9)
    cap = np.maximum(cap, 1).astype(np.int64)
    sc = obj.scores(C)  # (C, S)
    bf, tf = obj.field_rank(sc)  # vs the field
    alone = tie_split_payout(bf, tf + 1, obj.cum).mean(axis=1)
    if C.shape[0] > max_candidates:  # keep the most promising candidates
        keep = np.sort(np.argsort(-alone, kind="stable")[:max_candidates])
        C, sc, bf, tf, alone = C[keep], sc[keep], bf[keep], tf[keep], alone[keep]
    inc = incidence(C, D).astype(bool)  # (C, D)
    alive = np.ones(C.shape[0], dtype=bool)
    counts = np.zeros(D, dtype=np.int64)
    chosen: list[int] = []
    gains: list[float] = []
    set_vals: list[float] = []
    cur_total = 0.0
    # state of the chosen set per scenario
    ch_scores = np.empty((S, 0))
    ch_b = np.empty((S, 0), dtype=np.int64)  # field entries above each chosen lineup
    ch_t = np.empty((S, 0), dtype=np.int64)  # field entries tied (itself excluded)
    for _ in range(n_lineups):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        if ch_scores.shape[1] == 0:
            gain = alone[idx]
        else:
            gain = _marginal_gains(sc[idx], bf[idx], tf[idx], ch_scores, ch_b, ch_t, obj.cum)
        j = int(idx[np.argmax(gain)])
        g = float(gain.max())
        chosen.append(j)
        gains.append(g)
        ch_scores = np.concatenate([ch_scores, sc[j][:, None]], axis=1)
        ch_b = np.concatenate([ch_b, bf[j][:, None]], axis=1)
        ch_t = np.concatenate([ch_t, tf[j][:, None]], axis=1)
        cur_total = float(_set_payout(ch_scores, ch_b, ch_t, obj.cum).sum(axis=1).mean())
        set_vals.append(cur_total)
        # constraints for the next rounds
        counts[C[j]] += 1
        alive[j] = False
        full = counts >= cap
        if full.any():
            alive &= ~inc[:, full].any(axis=1)
        shared = inc[:, C[j]].sum(axis=1)
        alive &= shared <= max_overlap
    ch = np.array(chosen, dtype=np.int64)
    return PortfolioResult(
        chosen=ch,
        lineups=C[ch],
        gains=np.array(gains),
        set_value=np.array(set_vals),
        standalone=alone[ch],
    )


def _set_payout(scores, b_field, t_field, cum) -> np.ndarray:
    """(S, n) exact payouts of a set of our lineups against the field and each other."""
    gt = (scores[:, None, :] > scores[:, :, None]).sum(axis=2)
    eq = (scores[:, None, :] == scores[:, :, None]).sum(axis=2)
    return tie_split_payout(b_field + gt, t_field + eq, cum)


def _marginal_gains(cand_scores, cand_b, cand_t, ch_scores, ch_b, ch_t, cum) -> np.ndarray:
    """(C,) marginal gain in expected total payout of adding each candidate to the chosen set.

    cand_*: (C, S); ch_*: (S, n). For chosen lineup i with b_i entries above (field + chosen) and
    t_i tied, a candidate that beats it moves it from places b_i+1.. to b_i+2..: loss
    delta_i = pay(b_i, t_i) - pay(b_i + 1, t_i). Per scenario, chosen scores are sorted and the
    deltas summed from the bottom, so one flat searchsorted gives each candidate's loss and its
    count of chosen lineups above / tied.
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
