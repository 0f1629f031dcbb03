"""Calibrating the simulated field against real contests. Pure NumPy / pandas; no I/O.

Stand-ins for the model's scenarios on a real slate (the benchmark has no fit), and the contest
facts a field implies per scenario: the winning score and the 80th-percentile score. A real
contest is matched when its real winning and 80th-percentile scores fall inside the simulated
5-95 % band of each (issue 13's done-when).

- `fit_stand_in` / `StandIn` (the one bench_field uses): the vendor's projections scaled to the
  points a race pays out in all, Plackett-Luce strengths fitted so each driver's mean DK points
  match them, retirements at the track type's real rate, and laps led and fastest laps from
  real races of the track type: a real race's sorted shares (how concentrated) handed out in
  the order of one real start per driver of the same start and finish position (`race_pools`);
  `race_shape` and `top_scores` give the statistics it is checked on against real races.
- `dk_points_scenarios` / `fit_temperature`: the first stand-in (a temperature on the unscaled
  projections, dominator points to the front of the order only). It runs hot (too much of the
  dominator points on the best scorers, a top-6 sum ~35 points above real races); kept for
  bench_optimizer --honest.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from nascar_pipeline.core import rules


def plackett_luce_orders(strength, n_scenarios: int, rng) -> np.ndarray:
    """(S, D) finishing positions (1-based): a Plackett-Luce draw with log-weights `strength`
    (sorting strength + Gumbel noise is an exact Plackett-Luce sample)."""
    s = np.asarray(strength, dtype=np.float64)
    g = s[None, :] + rng.gumbel(size=(n_scenarios, s.size))
    order = np.argsort(-g, axis=1)
    finish = np.empty_like(order)
    finish[np.arange(n_scenarios)[:, None], order] = np.arange(1, s.size + 1)[None, :]
    return finish


def _front_shares(finish, decay: float, concentration: float, rng) -> np.ndarray:
    """Per scenario, shares summing to 1 that favour the front of the order (exp(-(pos-1)/decay))
    with gamma noise of the given concentration."""
    w = np.exp(-(finish - 1) / decay) * rng.gamma(concentration, 1.0, size=finish.shape)
    return w / w.sum(axis=1, keepdims=True)


def dk_points_scenarios(
    projection,
    start,
    laps: int,
    n_scenarios: int,
    rng,
    *,
    temperature: float = 10.0,
    lead_decay: float = 1.5,
    fastest_decay: float = 5.0,
    fastest_share: float = 0.8,
) -> np.ndarray:
    """(S, D) DraftKings points: a Plackett-Luce finishing order on projection / temperature, the
    laps led (most to the front finishers: the leader of most laps leads about half) and the
    fastest laps (fastest_share of the laps, spread wider), scored with rules.draftkings_points."""
    proj = np.asarray(projection, dtype=np.float64)
    finish = plackett_luce_orders(proj / temperature, n_scenarios, rng)
    led = np.round(_front_shares(finish, lead_decay, 0.7, rng) * laps)
    fast = np.round(_front_shares(finish, fastest_decay, 1.0, rng) * laps * fastest_share)
    start = np.broadcast_to(np.asarray(start, dtype=np.int64), finish.shape)
    pts = rules.draftkings_points(start, finish, led, fast)
    return (np.round(pts * 20) / 20).astype(np.float32)


def fit_temperature(projection, start, laps: int, rng, grid=(3, 4, 5, 6, 8, 10, 13, 17, 22, 30)):
    """The Plackett-Luce temperature whose mean DK points per driver best match the projection
    (least squares over drivers, 300 scenarios per candidate)."""
    proj = np.asarray(projection, dtype=np.float64)
    best, best_err = grid[0], np.inf
    for t in grid:
        m = dk_points_scenarios(proj, start, laps, 300, rng, temperature=t).mean(axis=0)
        err = float(((m - proj) ** 2).mean())
        if err < best_err:
            best, best_err = t, err
    return float(best)


# --- The realistic stand-in: calibrated on real races of the track type -----------------------
#
# Three measured faults of the stand-in above (bench_field.py prints them, on the real Sonoma
# 2026 slate against real road races 2019-2025):
# 1. A race pays out a fixed total (the finishing points, 0.25 a lap led, 0.45 a fastest lap:
#    about 937 DK points for 36 cars and 110 laps at Sonoma); the vendor's projections sum to
#    1186, and the real 2026 result regressed on them has slope 0.80. Fitting a temperature to
#    inflated means makes the order too concentrated on the favourites.
# 2. Laps led and fastest laps went to the front of the finishing order only: the six best
#    scorers took 92 % of the laps-led points (real road races: 63 %) and 66 % of the fastest-lap
#    points (real: 49 %). Real laps led follow the grid as well (a pole sitter who finishes
#    outside the top 20 still leads 24 % of the laps at road courses on average).
# 3. No retirements (real road races: 9.8 % did not finish).
# 4. (Found after 1-3.) With each driver's mean points pinned to the projection, a Plackett-Luce
#    order follows the grid more closely than real races do: start-finish correlation 0.62
#    against 0.50 (real road races), back-fifth starters in the top 10 1.6 % of the time against
#    4.0 %, place-differential sd 8.9 against 10.9. Per-driver form noise does not help (the fit
#    sharpens the strengths to compensate). A share `off_script` of each race's drivers run a race
#    not told by their strength (strategy, a caution, a penalty, damage): their place is drawn as
#    if their strength were any in the field's range. The share is the one whose start-finish
#    correlation matches the real races of the track type (`RacePools.order_corr`), so it is
#    measured, not chosen; its price is that the extremes' means can no longer all be reached
#    (the favourite's and the last starter's: `StandIn.fit_miss`, printed by bench_field).
# 5. (Found after 4.) Each driver's laps-led and fastest-lap shares were drawn on their own
#    (laps led and fastest laps from two different real starts) and then normalized, which
#    averages the dominators away: the leader of most laps led 0.44 of the laps at road courses
#    (real 0.49). A real race of the track type now lends its drivers' (laps led, fastest laps)
#    pairs (how concentrated, and who had both) and one real start per driver of the same
#    start and finish position decides the order they are handed out in: leader's share,
#    drivers leading and fastest-lap leader match the real road races (0.49, 7.3 vs 7.4, 0.29),
#    the leader of most laps sets most fastest laps as often as in real races (Chicagoland
#    slate 0.64 vs 0.63 of real intermediate races of its length, Iowa 0.53 vs 0.52), and on the
#    oval slates the best score per race's 95 % quantile rose 4-9 points (Chicagoland 120 -> 128,
#    real 138; Atlanta 94 -> 103, real 107 of the track type). Still short there: the real top
#    scorer of the most dominant races leads 78 % and sets 37 % of the fastest laps, the
#    stand-in's 71 % and 33 % (bench_field's slate table; the salary grid of those slates is
#    a stand-in too).


_BIN_EDGES = np.array([1, 2, 4, 6, 11, 21])  # positions 1, 2-3, 4-5, 6-10, 11-20, 21+
_NB = len(_BIN_EDGES)


def _pos_bin(p) -> np.ndarray:
    return np.searchsorted(_BIN_EDGES, np.asarray(p), side="right") - 1


@dataclass(frozen=True)
class RacePools:
    """Real results of one track type, as the stand-in draws from them: per (start bin, finish
    bin) cell the laps-led and fastest-lap shares (of the race's laps) of every real start in
    it, each race's fastest-lap total as a share of its laps, and the share that did not finish."""

    track_type: str
    cell_start: np.ndarray  # (_NB*_NB,) first row of each cell in the sorted arrays
    cell_count: np.ndarray  # (_NB*_NB,) rows per cell (every cell holds at least one)
    led_share: np.ndarray  # (n,) sorted by cell
    fast_share: np.ndarray  # (n,)
    fast_total: np.ndarray  # (races,) fastest laps / laps, per real race
    # (races, W) each real race's laps-led and fastest-lap shares of its laps, one column per
    # real driver, ordered by laps led then fastest laps, zero-padded: how concentrated a real
    # race's dominator points are, and who of its drivers had both
    led_profile: np.ndarray
    fast_profile: np.ndarray
    dnf_rate: float
    n_races: int
    order_corr: float  # mean over the races of the start-finish correlation


def race_pools(results, races, track_type: str) -> RacePools:
    """RacePools from the history tables (results.csv / races.csv columns: race_id,
    start_position, finish_position, laps_led, fastest_laps, status; race_id, laps, track_type).
    Races without fastest laps are left out of the fastest-lap figures. A cell with no real start
    borrows the rows of its finish bin (every bin of start)."""
    r = results.merge(races[["race_id", "laps", "track_type"]], on="race_id")
    r = r[r["track_type"] == track_type]
    if r.empty:
        raise ValueError(f"no real results for track type {track_type!r}")
    laps = r["laps"].to_numpy(float)
    fast = r["fastest_laps"].to_numpy(float)
    has_fast = r.groupby("race_id")["fastest_laps"].transform(lambda s: s.notna().any())
    led = r["laps_led"].to_numpy(float) / laps
    fs = np.where(np.isnan(fast), 0.0, fast) / laps
    cell = _pos_bin(r["start_position"]) * _NB + _pos_bin(r["finish_position"])
    keep = has_fast.to_numpy()
    led_rows, fast_rows = [], []
    for c in range(_NB * _NB):
        m = (cell == c) & keep
        if not m.any():  # borrow the finish bin
            m = (cell % _NB == c % _NB) & keep
        led_rows.append(led[m])
        fast_rows.append(fs[m])
    count = np.array([len(x) for x in led_rows])
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    per_race = r[keep].groupby("race_id").agg(f=("fastest_laps", "sum"), laps=("laps", "first"))
    kept = r[keep].assign(led_s=led[keep], fast_s=fs[keep])
    W = int(kept.groupby("race_id").size().max())

    led_p, fast_p = np.zeros((len(per_race), W)), np.zeros((len(per_race), W))
    for i, (_, v) in enumerate(kept.groupby("race_id")):
        o = np.lexsort((-v["fast_s"].to_numpy(), -v["led_s"].to_numpy()))
        led_p[i, : len(v)] = v["led_s"].to_numpy()[o]
        fast_p[i, : len(v)] = v["fast_s"].to_numpy()[o]

    status = r["status"].astype(str).str.lower()
    corr = r.groupby("race_id")[["start_position", "finish_position"]].apply(
        lambda d: d["start_position"].corr(d["finish_position"])
    )
    return RacePools(
        track_type=track_type,
        cell_start=start,
        cell_count=count,
        led_share=np.concatenate(led_rows),
        fast_share=np.concatenate(fast_rows),
        fast_total=(per_race["f"] / per_race["laps"]).to_numpy(float),
        led_profile=led_p,
        fast_profile=fast_p,
        dnf_rate=float((status != "running").mean()),
        n_races=int(r["race_id"].nunique()),
        order_corr=float(corr.mean()),
    )


def race_total_points(n_drivers: int, laps: int, pools: RacePools) -> float:
    """The DK points a race pays out in all (finishing points + laps led + the mean real
    fastest-lap total): place differentials cancel, so this is fixed by the rules."""
    fin = rules.dk_finish_points(np.arange(1, n_drivers + 1)).sum()
    return float(fin + 0.25 * laps + 0.45 * laps * pools.fast_total.mean())


@dataclass
class _Noise:
    gumbel: np.ndarray  # (S, D) Plackett-Luce noise
    dnf_u: np.ndarray  # (S, D) retirement draw
    led_u: np.ndarray  # (S, D) which real start of the cell lends its laps-led / fastest-lap shares
    race: np.ndarray  # (S,) which real race lends its concentration (led_profile, fast_profile)

    @classmethod
    def draw(cls, S: int, D: int, pools: RacePools, rng) -> _Noise:
        return cls(
            rng.gumbel(size=(S, D)),
            rng.random((S, D)),
            rng.random((S, D)),
            rng.integers(0, pools.led_profile.shape[0], S),
        )


@dataclass
class RaceScenarios:
    points: np.ndarray  # (S, D) DK points
    finish: np.ndarray  # (S, D) finishing positions
    laps_led: np.ndarray
    fastest_laps: np.ndarray


def _simulate(
    strength, start, laps: int, pools: RacePools, nz: _Noise, off_script: float = 0.0
) -> RaceScenarios:
    S, D = nz.gumbel.shape
    # one uniform per driver and race: below dnf_rate he retires, in the next off_script he runs
    # off script, else his strength tells
    u = nz.dnf_u
    out = u < pools.dnf_rate
    off = ~out & (u < pools.dnf_rate + off_script)
    lo, hi = float(strength.min()), float(strength.max())
    anyone = lo + (hi - lo) * (u - pools.dnf_rate) / max(off_script, 1e-12)
    live = np.where(off, anyone, strength[None, :]) + nz.gumbel
    # retirements go behind every finisher, in random order; the rest by Plackett-Luce
    key = np.where(out, -1e9 + u, live)
    order = np.argsort(-key, axis=1)
    finish = np.empty_like(order)
    finish[np.arange(S)[:, None], order] = np.arange(1, D + 1)[None, :]
    st = np.broadcast_to(np.asarray(start, dtype=np.int64), finish.shape)
    cell = _pos_bin(st) * _NB + _pos_bin(finish)
    n, first = pools.cell_count[cell], pools.cell_start[cell]
    # who leads and who sets fastest laps: one real start of the driver's (start, finish) cell
    # lends a rank (by its laps led, then its fastest laps; ties to the better finisher); how
    # much: a real race of the track type lends its drivers' (laps led, fastest laps) pairs in
    # the same order, so a race's concentration (a dominator leading most laps and setting most
    # fastest laps, or a spread) is a real one. Drawing each driver's shares on their own and
    # normalizing averaged the dominators away (fault 5 above). Sorted lexicographically
    # (lexsort: the last key first); a weighted sum of the three was not (shares lent by races
    # of other lengths differ by less than a weight's step)
    row = first + (nz.led_u * n).astype(np.int64)
    rank = np.lexsort((finish, -pools.fast_share[row], -pools.led_share[row]), axis=1)
    led = _hand_out(rank, pools.led_profile[nz.race], laps)
    fast = _hand_out(rank, pools.fast_profile[nz.race], laps)
    pts = rules.draftkings_points(st, finish, led, fast)
    return RaceScenarios((np.round(pts * 20) / 20).astype(np.float32), finish, led, fast)


def _hand_out(rank, profile, laps: int) -> np.ndarray:
    """(S, D) laps: each race's real shares `profile` (S, W), in the real race's order, given to
    its drivers in the order `rank` (S, D: driver indices), rounded to laps. Shares past D
    drivers are renormalized over the D (a real race with more starters); the lap total stays
    the real race's."""
    S, D = rank.shape
    prof = np.zeros((S, D))
    w = min(D, profile.shape[1])
    prof[:, :w] = profile[:, :w]
    total = profile.sum(axis=1, keepdims=True)
    prof *= total / np.maximum(prof.sum(axis=1, keepdims=True), 1e-12)
    out = np.empty((S, D))
    out[np.arange(S)[:, None], rank] = prof
    return np.round(out * laps)


def fit_strengths(
    target,
    start,
    laps: int,
    pools: RacePools,
    rng,
    off_script: float = 0.0,
    n_scenarios: int = 600,
    iters: int = 80,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Plackett-Luce log-strengths whose mean DK points per driver match `target` (common random
    numbers, a fixed-point step of 1/25 per DK point). Returns them, the mean points reached and
    the start-finish correlation of the fit's scenarios (a target no order can reach, e.g. below
    a last-place finish from the back, is missed)."""
    tgt = np.asarray(target, dtype=np.float64)
    nz = _Noise.draw(n_scenarios, tgt.size, pools, rng)
    s = (tgt - tgt.mean()) / 10.0
    for _ in range(iters):
        m = _simulate(s, start, laps, pools, nz, off_script).points.mean(axis=0)
        s = s + (tgt - m) / 25.0
    sim = _simulate(s, start, laps, pools, nz, off_script)
    corr = race_shape(sim.points, sim.finish, start, sim.laps_led, sim.fastest_laps, laps)["corr"]
    return s, sim.points.mean(axis=0).astype(np.float64), corr


@dataclass
class StandIn:
    """The stand-in for the model's scenarios on a real slate: the vendor's projections scaled to
    the race's total, strengths fitted to them, laps led / fastest laps / retirements drawn from
    real races of the track type."""

    strength: np.ndarray
    start: np.ndarray
    laps: int
    pools: RacePools
    scale: float  # race total / the projections' sum
    off_script: float  # share of drivers per race whose strength does not tell
    target: np.ndarray  # the projections scaled to the race total
    reached: np.ndarray  # the fitted mean points per driver
    order_corr: float  # start-finish correlation of the fit (the pools' is the real one)

    @property
    def fit_miss(self) -> float:
        """Largest |mean points - target| after the fit."""
        return float(np.abs(self.reached - self.target).max())

    def scenarios(self, n_scenarios: int, rng) -> RaceScenarios:
        nz = _Noise.draw(n_scenarios, self.strength.size, self.pools, rng)
        return _simulate(self.strength, self.start, self.laps, self.pools, nz, self.off_script)


OFF_SCRIPT_GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4)


def _crossing(grid, corr, real: float) -> float:
    """The share at which corr (measured on grid) reaches real: linear between the first pair of
    neighbours that brackets it, else the nearest end (the nearest grid point alone left the
    Sonoma stand-in's correlation 0.03 off the real one)."""
    gap = corr - real
    for a in range(len(grid) - 1):
        if gap[a] == 0:
            return float(grid[a])
        if gap[a] * gap[a + 1] < 0:
            t = gap[a] / (gap[a] - gap[a + 1])
            return float(grid[a] + t * (grid[a + 1] - grid[a]))
    return float(grid[int(np.argmin(np.abs(gap)))])


def fit_stand_in(
    projection, start, laps: int, pools: RacePools, rng, off_script: float | None = None
) -> StandIn:
    """The stand-in on a slate: off_script None calibrates it (the share whose start-finish
    correlation is the real races' of the track type: measured on OFF_SCRIPT_GRID, where it falls
    with the share, and interpolated between the two grid points around the real one; the
    nearest end of the grid when none brackets it. The calibration's own noise is seeded from
    the slate, so it does not vary with rng)."""
    proj = np.asarray(projection, dtype=np.float64)
    scale = race_total_points(proj.size, laps, pools) / proj.sum()
    st = np.asarray(start, dtype=np.int64)
    tgt = proj * scale
    if off_script is None:
        seed = int(np.abs(np.round(proj * 100)).sum() + st.sum() * 7919 + laps)
        corr = np.array(
            [
                fit_strengths(tgt, st, laps, pools, np.random.default_rng(seed), m)[2]
                for m in OFF_SCRIPT_GRID
            ]
        )
        off_script = _crossing(np.asarray(OFF_SCRIPT_GRID), corr, pools.order_corr)
    strength, reached, corr = fit_strengths(tgt, st, laps, pools, rng, off_script)
    return StandIn(
        strength, st, int(laps), pools, float(scale), float(off_script), tgt, reached, corr
    )


def race_shape(points, finish, start, laps_led, fastest_laps, laps) -> dict:
    """The statistics the stand-in is checked on, per race (row) then averaged: DK points per
    driver (sd, best, second best, top-6 sum), the top-6 scorers' share of the laps-led and
    fastest-lap points, laps-led leader's share and drivers leading, fastest-lap leader's share
    and drivers with one, place differential sd, start-finish correlation, the share of the back
    fifth of the grid finishing in the top 10."""
    P = np.atleast_2d(np.asarray(points, dtype=np.float64))
    F = np.atleast_2d(np.asarray(finish, dtype=np.float64))
    St = np.broadcast_to(np.asarray(start, dtype=np.float64), F.shape)
    Ld = np.atleast_2d(np.asarray(laps_led, dtype=np.float64))
    Fl = np.atleast_2d(np.asarray(fastest_laps, dtype=np.float64))
    srt = np.sort(P, axis=1)[:, ::-1]
    top = np.argsort(-P, axis=1)[:, :6]
    take = lambda a: np.take_along_axis(a, top, axis=1).sum(axis=1)  # noqa: E731
    ls = np.sort(Ld, axis=1)[:, ::-1]
    fs = np.sort(Fl, axis=1)[:, ::-1]
    sc, fc = St - St.mean(1, keepdims=True), F - F.mean(1, keepdims=True)
    corr = (sc * fc).sum(1) / np.sqrt((sc**2).sum(1) * (fc**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rows = {
            "pts_sd": P.std(axis=1),
            "pts_max": srt[:, 0],
            "pts_2nd": srt[:, 1],
            "top6": srt[:, :6].sum(axis=1),
            "top6_led": take(Ld) / Ld.sum(axis=1),
            "top6_fast": take(Fl) / Fl.sum(axis=1),
            "led_1st": ls[:, 0] / np.asarray(laps, dtype=np.float64),
            "led_n": (Ld > 0).sum(axis=1),
            "fast_1st": fs[:, 0] / Fl.sum(axis=1),
            "fast_n": (Fl > 0).sum(axis=1),
            "pd_sd": (St - F).std(axis=1),
            "corr": corr,
            # starters from the back fifth who finish in the top 10 (the place-differential upside)
            "back_top10": ((St > 0.8 * St.shape[1]) & (F <= 10)).sum(1)
            / (St > 0.8 * St.shape[1]).sum(1),
        }
    with warnings.catch_warnings():  # a result without fastest laps has none to average
        warnings.simplefilter("ignore", RuntimeWarning)
        return {k: float(np.nanmean(v)) for k, v in rows.items()}


def top_scores(points, ks=(1, 2, 6)) -> dict:
    """Per race (row) of DK points per driver, the sum of the k best scores for each k: the
    scores a contest's winning lineup is built from, so their spread across races sets the
    width of the simulated winning-score band (a stand-in is checked on their 5 / 50 / 95 %
    quantiles against real races of the track type)."""
    srt = np.sort(np.atleast_2d(np.asarray(points, dtype=np.float64)), axis=1)[:, ::-1]
    return {f"top{k}": srt[:, :k].sum(axis=1) for k in ks}


@dataclass
class ContestBand:
    win: np.ndarray  # (S,) winning score per scenario
    p80: np.ndarray  # (S,) 80th-percentile score per scenario

    def band(self, q=(0.05, 0.95)) -> dict:
        return {
            "win_lo": float(np.quantile(self.win, q[0])),
            "win_hi": float(np.quantile(self.win, q[1])),
            "p80_lo": float(np.quantile(self.p80, q[0])),
            "p80_hi": float(np.quantile(self.p80, q[1])),
        }

    def inside(self, real_win: float, real_p80: float, q=(0.05, 0.95)) -> dict:
        b = self.band(q)
        return {
            **b,
            "win_inside": bool(b["win_lo"] <= real_win <= b["win_hi"]),
            "p80_inside": bool(b["p80_lo"] <= real_p80 <= b["p80_hi"]),
        }


def contest_band(points, field, chunk: int = 64) -> ContestBand:
    """Winning and 80th-percentile field scores in every scenario (points (S, D), field (F, R))."""
    P = np.asarray(points, dtype=np.float64)
    L = np.asarray(field, dtype=np.int64)
    win = np.empty(P.shape[0])
    p80 = np.empty(P.shape[0])
    for a in range(0, P.shape[0], chunk):
        sc = P[a : a + chunk][:, L].sum(axis=2)  # (c, F)
        win[a : a + chunk] = sc.max(axis=1)
        p80[a : a + chunk] = np.quantile(sc, 0.8, axis=1)
    return ContestBand(win=win, p80=p80)
