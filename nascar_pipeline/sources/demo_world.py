"""The embedded demo world: a synthetic but realistic NASCAR Cup world (pure NumPy; no I/O).

`generate_world(seed, seasons, upcoming)` returns `OntologyTables` with
- `seasons` complete seasons of 36 points races on a realistic schedule (real track names and
  types: 13 intermediate, 11 short, 7 superspeedway, 5 road a season), run on weekly Sundays
  from mid-February with two off weeks; by default the seasons are 2024-2026 (the last season
  is always 2026, so race keys read like real ones: `2026-daytona-daytona-500`);
- a pool of 45 fictional drivers on 15 fictional teams (Chevrolet, Ford, Toyota): 34 full-time
  drivers who enter every race and 11 part-timers who enter some races (road-course
  specialists and superspeedway "open" cars among them), so about 37 cars a race;
- each race simulated from latent performance: driver skill (drifting a little from season to
  season) + skill by track type + team effect; qualifying (start position) correlated with
  skill; finishing order of the cars that run to the end by Plackett-Luce on performance
  (Gumbel-max); DNFs by track type (about 26/14/10/9 % at superspeedway/intermediate/short/road)
  ranked behind the running cars by laps completed; laps led and fastest laps as shares of the
  race's laps from Dirichlet weights that follow performance (laps led sum to the laps run,
  fastest laps total about 78 % of laps as in the real 2019-2025 loop data);
- a DraftKings slate for every race (salaries $4,500 to $11,500 in whole $100s priced from
  driver strength before qualifying, dk_ids, start positions) and one DraftKings GPP each; run
  races also carry the field's actual ownership (`dk_own_pct`, summing to 600 % a race), so
  past races can be backtested like real ones;
- a FanDuel slate for every race as well: `fd_salary` $3,000 to $14,000 in whole $100s, priced
  from its own noisy view of driver strength (so the top five cost well over the $50,000 cap: a
  five-driver lineup is a trade-off), and `fd_id` FanDuel player ids `<slate>-<player>` (one
  slate number a race, one player number a driver, e.g. `120001-10007`). They come from a
  second random stream (seeded from the seed), so adding them changed nothing else in the world;
- with `upcoming=True`, ONE upcoming race: the opener of the next season (the Daytona 500 on the
  third Sunday of February of the year after the last season, 2027-02-21 by default),
  status "scheduled", laps and results null, `lock_time` = its race date at 19:30 UTC (the
  green-flag time of a Daytona 500), with its entry list (about 37-40 cars: superspeedway
  specialists enter the 500), qualifying known (start positions), DraftKings salaries and
  dk_ids, no ownership yet, and one DraftKings GPP contest ($20 entry, 5,000 entries, max 150
  entries per user, about 22 % of entries paid, 85 % of entry fees returned as prizes).

Deterministic for a seed: the same seed gives equal tables (names, teams and the schedule do not
depend on the seed; skills and results do).

`world_statistics(races, results)` summarises a world (or the real history) the same way, for
tests and the `seed-demo --compare-history` report.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd

from nascar_pipeline.core.race_story import (
    concentration,
    dnf_logit,
    draw_dnf,
    finish_positions,
    lap_share_log_concentration,
    order_utility,
    performance,
)
from nascar_pipeline.core.rules import draftkings_points
from nascar_pipeline.core.slugs import make_race_key, slugify
from nascar_pipeline.core.tables import TRACK_TYPES, OntologyTables, conform

LAST_SEASON = 2026
RACES_PER_SEASON = 36
LOCK_HOUR_UTC, LOCK_MINUTE_UTC = 19, 30

# (track name, track type, length in miles, scheduled laps, race name): a 36-race season,
# after the 2024-2025 Cup schedules.
SCHEDULE: list[tuple[str, str, float, int, str]] = [
    ("Daytona International Speedway", "superspeedway", 2.5, 200, "Daytona 500"),
    ("Atlanta Motor Speedway", "superspeedway", 1.54, 260, "Ambetter Health 400"),
    ("Las Vegas Motor Speedway", "intermediate", 1.5, 267, "Pennzoil 400"),
    ("Phoenix Raceway", "short", 1.0, 312, "Shriners Childrens 500"),
    ("Bristol Motor Speedway", "short", 0.533, 500, "Food City 500"),
    ("Circuit of The Americas", "road", 3.41, 68, "EchoPark Automotive Grand Prix"),
    ("Richmond Raceway", "short", 0.75, 400, "Toyota Owners 400"),
    ("Martinsville Speedway", "short", 0.526, 400, "Cook Out 400"),
    ("Texas Motor Speedway", "intermediate", 1.5, 267, "Wurth 400"),
    ("Talladega Superspeedway", "superspeedway", 2.66, 188, "Jack Link's 500"),
    ("Dover Motor Speedway", "short", 1.0, 400, "Dover 400"),
    ("Kansas Speedway", "intermediate", 1.5, 267, "AdventHealth 400"),
    ("Darlington Raceway", "intermediate", 1.366, 293, "Goodyear 400"),
    ("Charlotte Motor Speedway", "intermediate", 1.5, 400, "Coca-Cola 600"),
    ("World Wide Technology Raceway", "intermediate", 1.25, 240, "Enjoy Illinois 300"),
    ("Sonoma Raceway", "road", 1.99, 110, "Toyota/Save Mart 350"),
    ("Iowa Speedway", "short", 0.875, 350, "Iowa Corn 350"),
    ("New Hampshire Motor Speedway", "short", 1.058, 301, "USA Today 301"),
    ("Nashville Superspeedway", "intermediate", 1.33, 300, "Ally 400"),
    ("Chicago Street Course", "road", 2.2, 75, "Grant Park 165"),
    ("Pocono Raceway", "intermediate", 2.5, 160, "The Great American Getaway 400"),
    ("Indianapolis Motor Speedway", "superspeedway", 2.5, 160, "Brickyard 400"),
    ("Richmond Raceway", "short", 0.75, 400, "Cook Out 400"),
    ("Michigan International Speedway", "intermediate", 2.0, 200, "FireKeepers Casino 400"),
    ("Daytona International Speedway", "superspeedway", 2.5, 160, "Coke Zero Sugar 400"),
    ("Darlington Raceway", "intermediate", 1.366, 367, "Cook Out Southern 500"),
    ("Atlanta Motor Speedway", "superspeedway", 1.54, 260, "Quaker State 400"),
    ("Watkins Glen International", "road", 2.45, 90, "Go Bowling at The Glen"),
    ("Bristol Motor Speedway", "short", 0.533, 500, "Bass Pro Shops Night Race"),
    ("Kansas Speedway", "intermediate", 1.5, 267, "Hollywood Casino 400"),
    ("Talladega Superspeedway", "superspeedway", 2.66, 188, "YellaWood 500"),
    ("Charlotte Motor Speedway Road Course", "road", 2.28, 109, "Bank of America Roval 400"),
    ("Las Vegas Motor Speedway", "intermediate", 1.5, 267, "South Point 400"),
    ("Homestead-Miami Speedway", "intermediate", 1.5, 267, "Straight Talk Wireless 400"),
    ("Martinsville Speedway", "short", 0.526, 500, "Xfinity 500"),
    ("Phoenix Raceway", "short", 1.0, 312, "Championship Race"),
]
OFF_WEEKS_AFTER = (8, 21)  # 1-based race numbers followed by an off week (Easter, summer break)

# Per track type, in TRACK_TYPES order (superspeedway, intermediate, short, road). Tuned so the
# world's statistics match the real 2019-2025 history (see tests/sources/test_demo_world.py).
DNF_RATE = np.array([0.26, 0.135, 0.10, 0.09])
PACE_SCALE = np.array([0.50, 1.20, 1.20, 1.10])  # weight of strength vs Gumbel noise
START_EFFECT = np.array([0.30, 0.45, 0.45, 0.50])  # pace bonus of starting up front
QUALI_NOISE = np.array([1.20, 1.00, 1.00, 1.00])  # qualifying noise (sd, strength units)
LEAD_SHAPE = np.array([2.20, 1.10, 1.00, 0.90])  # Gamma shape of the top runner's lead weight
LEAD_SLOPE = np.array([0.65, 0.74, 0.76, 0.76])  # how fast lead weight falls with pace
FAST_SHAPE = np.array([2.0, 2.0, 2.0, 2.0])
FAST_SLOPE = np.array([0.35, 0.60, 0.60, 0.65])
LAPS_DOWN_SCALE = np.array([10.0, 7.0, 8.0, 1.5])  # laps down of the last running car
LAPS_DOWN_POWER = np.array([12.0, 9.0, 5.5, 14.0])  # how fast laps down rise to the back
DNF_STATUSES = (
    "accident",
    "engine",
    "dvp",
    "suspension",
    "electrical",
    "brakes",
    "steering",
    "transmission",
)
DNF_STATUS_P = np.array([0.72, 0.09, 0.05, 0.04, 0.03, 0.03, 0.02, 0.02])
FAST_LAP_SHARE_MEAN, FAST_LAP_SHARE_CONC = 0.79, 40.0
# A DNF car's utility penalty: far below any pace, plus a step per lap completed, so DNF cars
# finish behind every running car and among themselves by laps completed (|pace| << 100).
DNF_BEHIND, LAPS_COMPLETED_ORDER = -1e6, 100.0
# Caps on one car's share of a race's laps led / fastest laps (real maxima 2019-2025: 0.93, 0.45).
MAX_LEAD_SHARE, MAX_FAST_SHARE = 0.92, 0.42

_FIRST = [
    "Cole",
    "Tanner",
    "Brady",
    "Wyatt",
    "Mason",
    "Landon",
    "Garrett",
    "Reid",
    "Colby",
    "Dalton",
    "Bryce",
    "Trent",
    "Jace",
    "Hunter",
    "Logan",
    "Carson",
    "Austin",
    "Blake",
    "Chase",
    "Derek",
    "Grady",
    "Heath",
    "Jonah",
    "Kyle",
    "Lane",
    "Nolan",
    "Owen",
    "Parker",
    "Quinn",
    "Ross",
    "Shane",
    "Travis",
    "Wade",
    "Zane",
    "Brock",
    "Casey",
    "Dillon",
    "Emmett",
    "Forrest",
    "Gage",
    "Harlan",
    "Ike",
    "Jory",
    "Knox",
    "Luca",
]
_LAST = [
    "Whitfield",
    "Harlow",
    "Pruitt",
    "Caldwell",
    "Brannon",
    "Sutter",
    "Mercer",
    "Dunlap",
    "Holloway",
    "Kincaid",
    "Ashby",
    "Rucker",
    "Tolliver",
    "Vance",
    "Easley",
    "Gentry",
    "Hollister",
    "Lockhart",
    "McRae",
    "Norwood",
    "Overby",
    "Pickett",
    "Queen",
    "Renfro",
    "Stroud",
    "Tate",
    "Underwood",
    "Varner",
    "Wheeler",
    "Yancey",
    "Abernathy",
    "Boone",
    "Cantrell",
    "Decker",
    "Ellison",
    "Fairchild",
    "Gaither",
    "Hensley",
    "Ingram",
    "Jessup",
    "Kilgore",
    "Ledford",
    "Maddox",
    "Newsome",
    "Oakley",
]
# (team, manufacturer, full-time cars, part-time cars)
_TEAMS = [
    ("Piedmont Motorsports", "Chevrolet", 4, 0),
    ("Carolina Speed Group", "Toyota", 4, 0),
    ("Blue Ridge Racing", "Ford", 3, 0),
    ("Catawba Performance", "Chevrolet", 3, 0),
    ("Tidewater Racing", "Ford", 3, 1),
    ("Red Clay Motorsports", "Toyota", 2, 1),
    ("Iron Horse Racing", "Chevrolet", 2, 1),
    ("Lakeside Motorsports", "Ford", 2, 0),
    ("Sandhills Racing", "Chevrolet", 2, 1),
    ("Magnolia Racing", "Toyota", 2, 0),
    ("Pinecrest Motorsports", "Ford", 2, 1),
    ("Foothills Racing", "Chevrolet", 2, 0),
    ("Big Oak Racing", "Ford", 1, 2),
    ("Cumberland Motorsports", "Chevrolet", 1, 2),
    ("Lone Pine Racing", "Toyota", 1, 2),
]
MAX_FIELD = 40
CONTEST_ENTRY_FEE, CONTEST_FIELD_SIZE = 20.0, 5000
PART_TIME_CARS = 3.4  # expected part-time cars a race (34 full-time cars + 3.4 = ~37.4 cars)


def _normal_quantiles(n: int) -> np.ndarray:
    from statistics import NormalDist

    nd = NormalDist()
    return np.array([nd.inv_cdf((i + 0.5) / n) for i in range(n)])


# --------------------------------------------------------------------------- drivers & schedule


def _season_dates(season: int) -> list[dt.date]:
    """36 race Sundays: from the third Sunday of February, weekly, with two off weeks."""
    feb1 = dt.date(season, 2, 1)
    first = feb1 + dt.timedelta(days=(6 - feb1.weekday()) % 7 + 14)
    dates, day = [], first
    for n in range(1, RACES_PER_SEASON + 1):
        dates.append(day)
        day += dt.timedelta(days=14 if n in OFF_WEEKS_AFTER else 7)
    return dates


def _driver_pool(rng: np.random.Generator) -> pd.DataFrame:
    rows, k = [], 0
    numbers = [
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        10,
        11,
        12,
        14,
        16,
        17,
        19,
        20,
        21,
        22,
        23,
        24,
        31,
        33,
        34,
        38,
        41,
        42,
        43,
        45,
        47,
        48,
        51,
        54,
        60,
        62,
        66,
        67,
        71,
        77,
        78,
        84,
        88,
        91,
        97,
        99,
    ]
    for ti, (team, make, full, part) in enumerate(_TEAMS):
        for j in range(full + part):
            rows.append(
                {
                    "team_idx": ti,
                    "team": team,
                    "manufacturer": make,
                    "full_time": j < full,
                    "name": f"{_FIRST[k]} {_LAST[(k * 7) % 45]}",
                    "car_number": str(numbers[(k * 17) % 45]),
                }
            )
            k += 1
    df = pd.DataFrame(rows)
    df["driver_id"] = 800_001 + np.arange(len(df))
    n = len(df)
    full = df["full_time"].to_numpy()
    # Latent skill (logit-ish units): full-timers N(0, 1), part-timers N(-1.1, 0.6), drawn as
    # shuffled normal quantiles so that every seed has the same spread of talent (the world's
    # statistics then vary little from seed to seed).
    skill = np.empty(n)
    skill[full] = rng.permutation(_normal_quantiles(int(full.sum())))
    skill[~full] = -1.1 + 0.6 * rng.permutation(_normal_quantiles(int((~full).sum())))
    df["skill"] = skill
    # Part-timers: a few road-course and superspeedway specialists (entering 85 % of such
    # races), the rest "open" cars; the others' entry probabilities are scaled so that a race
    # expects PART_TIME_CARS part-time cars at every track type.
    n_part = int((~full).sum())
    kinds = np.array((["road", "plate", "open", "open"] * n_part)[:n_part])
    kind = np.full(n, "full", dtype=object)
    kind[~full] = rng.permutation(kinds)
    p = np.zeros((n, 4))
    p[full] = 1.0
    for i, tt in enumerate(TRACK_TYPES):
        spec = (
            (kind == "road")
            if tt == "road"
            else (kind == "plate")
            if tt == "superspeedway"
            else np.zeros(n, dtype=bool)
        )
        p[spec, i] = 0.85
        rest = (~full) & ~spec
        w = rng.uniform(0.5, 1.5, n)[rest]
        p[rest, i] = np.clip(w / w.sum() * (PART_TIME_CARS - 0.85 * spec.sum()), 0.02, 0.9)
    df["kind"] = kind
    for i, tt in enumerate(TRACK_TYPES):
        df[f"p_enter_{tt}"] = np.where(full, 1.0, p[:, i])
    return df


# --------------------------------------------------------------------------- one race


def _alloc(total: int, weights: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Split `total` laps in proportion to `weights` (largest remainder), each at most `cap`;
    laps over a cap go to the uncapped cars in proportion to their weights."""
    n = len(weights)
    out = np.zeros(n, dtype=np.int64)
    w = weights.astype(float).copy()
    remaining = int(min(total, cap.sum()))
    for _ in range(n + 1):
        if remaining <= 0 or w.sum() <= 0:
            break
        share = remaining * w / w.sum()
        share = np.minimum(share, cap - out)
        base = np.floor(share).astype(np.int64)
        left = remaining - int(base.sum())
        frac = np.where(cap - out - base > 0, share - base, -1.0)
        if left > 0:
            top = np.argsort(-frac, kind="stable")[:left]
            top = top[frac[top] >= 0]
            base[top] += 1
        out += base
        remaining -= int(base.sum())
        w = np.where(out >= cap, 0.0, w)
        if int(base.sum()) == 0:
            break
    if remaining > 0:  # leftovers from float edge cases: hand them to whoever has room
        for i in np.argsort(-weights, kind="stable"):
            room = int(cap[i] - out[i])
            take = min(room, remaining)
            out[i] += take
            remaining -= take
            if remaining == 0:
                break
    return out


def _qualify(rng: np.random.Generator, strength: np.ndarray, tt: int) -> np.ndarray:
    """Start positions (1 = pole) from strength plus qualifying noise."""
    n = len(strength)
    q = strength + rng.normal(0.0, QUALI_NOISE[tt], n)
    start = np.empty(n, dtype=np.int64)
    start[np.argsort(-q, kind="stable")] = np.arange(1, n + 1)
    return start


def _simulate_race(
    rng: np.random.Generator, strength: np.ndarray, tt: int, laps: int
) -> dict[str, np.ndarray]:
    """Simulate one run race for cars with latent `strength` (one per car), by the model's
    generative story (core/race_story.py) with the world's own parameters."""
    n = len(strength)
    z = (strength - strength.mean()) / (strength.std() + 1e-9)
    start = _qualify(rng, strength, tt)
    # Race performance: strength and track position (start covariate: 1 at pole, 0 at the back).
    front = 1.0 - (start - 1) / max(n - 1, 1)
    perf = performance(strength, PACE_SCALE[tt], START_EFFECT[tt], front)
    gumbel = rng.gumbel(size=n)
    pace = perf + gumbel  # realized pace: what laps led and fastest laps follow
    # DNFs: weaker cars fail a bit more often; rate by track type.
    base_logit = np.log(DNF_RATE[tt] / (1 - DNF_RATE[tt]))
    dnf = draw_dnf(dnf_logit(base_logit, 0.0, front, -0.25, z), rng.random(n))
    laps_completed = np.full(n, laps, dtype=np.int64)
    n_dnf = int(dnf.sum())
    laps_completed[dnf] = np.minimum(np.floor(laps * rng.beta(1.5, 1.0, n_dnf)), laps - 1)
    # Plackett-Luce by Gumbel-max with a DNF penalty so large that every DNF car finishes
    # behind the running cars, ordered among themselves by laps completed (then pace).
    dnf_penalty = DNF_BEHIND + LAPS_COMPLETED_ORDER * laps_completed
    finish = finish_positions(order_utility(perf, dnf, dnf_penalty), gumbel)
    order = np.argsort(finish)
    # Lapped running cars at the back: Poisson laps down, steeply rising towards the back of
    # the running order (about 1/3 of running cars lapped at intermediates, 1/2 at short
    # tracks, 1/7 on road courses, as in the real history), non-decreasing down the order.
    n_run = n - n_dnf
    rel_pos = np.minimum(finish, n_run) / max(n_run, 1)
    lam = LAPS_DOWN_SCALE[tt] * rel_pos ** LAPS_DOWN_POWER[tt] * rng.lognormal(0.0, 0.7, n)
    laps_down = np.where(finish <= 3, 0, np.minimum(rng.poisson(lam), laps // 5))
    run_laps = np.where(dnf, laps_completed, laps - laps_down)
    run_sorted = run_laps[order]
    run_sorted[:n_run] = np.minimum.accumulate(run_sorted[:n_run])
    run_laps[order] = run_sorted
    # A DNF car ranks behind every running car, so it completed fewer laps than the last one
    # (a monotone clip: the order among DNF cars stands).
    if n_run and n_dnf:
        run_laps[dnf] = np.minimum(run_laps[dnf], run_sorted[n_run - 1] - 1)
    laps_completed = np.maximum(run_laps, 0)
    running_frac = laps_completed / laps
    # Laps led: Dirichlet weights falling with pace, scaled by the share of laps a car ran.
    w_lead = rng.gamma(
        concentration(
            lap_share_log_concentration(
                np.log(LEAD_SHAPE[tt]), LEAD_SLOPE[tt], pace - pace.max(), running_frac
            )
        )
    )
    w_lead[finish == 1] += 0.02 * w_lead.sum()  # the winner leads at least the last lap
    laps_led = _alloc(laps, w_lead, np.minimum(laps_completed, int(MAX_LEAD_SHARE * laps)))
    if laps_led[finish == 1].sum() == 0:
        donor = int(np.argmax(laps_led))
        laps_led[donor] -= 1
        laps_led[finish == 1] += 1
    # Fastest laps: about 4/5 of laps, flatter shares than laps led.
    share = rng.beta(
        FAST_LAP_SHARE_MEAN * FAST_LAP_SHARE_CONC, (1 - FAST_LAP_SHARE_MEAN) * FAST_LAP_SHARE_CONC
    )
    w_fast = rng.gamma(
        concentration(
            lap_share_log_concentration(
                np.log(FAST_SHAPE[tt]), FAST_SLOPE[tt], pace - pace.mean(), running_frac
            )
        )
    )
    fastest = _alloc(
        int(round(share * laps)), w_fast, np.minimum(laps_completed, int(MAX_FAST_SHARE * laps))
    )
    status = np.full(n, "running", dtype=object)
    status[dnf] = rng.choice(DNF_STATUSES, size=n_dnf, p=DNF_STATUS_P / DNF_STATUS_P.sum())
    return {
        "start": start,
        "finish": finish,
        "laps_completed": laps_completed,
        "laps_led": laps_led,
        "fastest_laps": fastest,
        "status": status,
    }


def _laps_run(rng: np.random.Generator, scheduled: int, tt: int) -> int:
    u = rng.random()
    if u < 0.03:  # shortened by rain
        return int(scheduled * rng.uniform(0.55, 0.9))
    if u < 0.18:  # overtime
        return scheduled + int(rng.integers(1, 4 if tt == 3 else 12))
    return scheduled


# --------------------------------------------------------------------------- DraftKings slate


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


def _salaries(strength: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """DraftKings pricing: $11,500 down to $4,500, priced before qualifying."""
    return _price(strength, rng, 11_500, 4_500, 0.92)


FD_SLATE_BASE = 120_000  # FanDuel slate number of a race: FD_SLATE_BASE + 1 + race index
FD_PLAYER_BASE = 10_000  # FanDuel player number of a driver: FD_PLAYER_BASE + pool index


def _fd_salaries(strength: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """FanDuel NASCAR pricing: $14,000 down to $3,000."""
    return _price(strength, rng, 14_000, 3_000, 0.9)


def _ownership(
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


# --------------------------------------------------------------------------- the world


def generate_world(seed: int = 7, seasons: int = 3, upcoming: bool = True) -> OntologyTables:
    if seasons < 1:
        raise ValueError("seasons must be >= 1")
    rng = np.random.default_rng(seed)
    fd_rng = np.random.default_rng([seed, 0xFD])  # FanDuel slates: a stream of their own
    pool = _driver_pool(rng)
    n_drv = len(pool)
    skill_tt = rng.normal(0.0, 0.35, (n_drv, 4))
    team_eff = rng.normal(0.0, 0.3, len(_TEAMS))[pool["team_idx"].to_numpy()]
    # Skill drifts from season to season (random walk).
    drift = np.cumsum(rng.normal(0.0, 0.2, (n_drv, seasons + 1)), axis=1)
    base_skill = pool["skill"].to_numpy()
    p_enter = pool[[f"p_enter_{t}" for t in TRACK_TYPES]].to_numpy()
    full = pool["full_time"].to_numpy()
    ids = pool["driver_id"].to_numpy()

    first_season = LAST_SEASON - seasons + 1
    race_rows, entry_rows, result_frames, contests = [], [], [], []
    race_id = 90_000 + (first_season % 100) * 100
    fee, size = CONTEST_ENTRY_FEE, CONTEST_FIELD_SIZE
    payouts = json.dumps(dk_gpp_payouts(size, fee))
    car_number = pool["car_number"].to_numpy()
    team = pool["team"].to_numpy()
    make = pool["manufacturer"].to_numpy()

    def entrants(tt: int) -> np.ndarray:
        enter = full | (rng.random(n_drv) < p_enter[:, tt])
        idx = np.flatnonzero(enter)
        if len(idx) > MAX_FIELD:  # keep full-timers, drop random part-timers
            part = idx[~full[idx]]
            drop = rng.choice(part, size=len(idx) - MAX_FIELD, replace=False)
            idx = np.setdiff1d(idx, drop)
        return idx

    def strength_of(idx: np.ndarray, si: int, tt: int) -> np.ndarray:
        return base_skill[idx] + drift[idx, si] + skill_tt[idx, tt] + team_eff[idx]

    # Every race: (season index, season, date, schedule row); the upcoming race last.
    plan = [
        (si, first_season + si, day, row)
        for si in range(seasons)
        for day, row in zip(_season_dates(first_season + si), SCHEDULE)
    ]
    if upcoming:
        plan.append((seasons, LAST_SEASON + 1, _season_dates(LAST_SEASON + 1)[0], SCHEDULE[0]))

    for n_race, (si, season, day, (track, ttype, length, sched, name)) in enumerate(plan):
        run = si < seasons
        tt = TRACK_TYPES.index(ttype)
        race_id += 1
        key = make_race_key(season, track, name)
        idx = entrants(tt)
        strength = strength_of(idx, si, tt)
        # DraftKings prices the slate before qualifying, from what it knows of the drivers.
        salary = _salaries(strength, rng)
        fd_salary = _fd_salaries(strength, fd_rng)
        laps = _laps_run(rng, sched, tt) if run else None
        if run:
            sim = _simulate_race(rng, strength, tt, laps)
            start = sim["start"]
            result_frames.append(
                pd.DataFrame(
                    {
                        "race_key": key,
                        "driver_id": ids[idx],
                        "finish_position": sim["finish"],
                        "laps_completed": sim["laps_completed"],
                        "laps_led": sim["laps_led"],
                        "fastest_laps": sim["fastest_laps"],
                        "status": sim["status"],
                    }
                )
            )
            own = _ownership(strength, start, salary, rng)
        else:
            start = _qualify(rng, strength, tt)
            own = np.full(len(idx), np.nan)  # known only once the contest has run
        race_rows.append(
            {
                "race_key": key,
                "race_id": race_id,
                "season": season,
                "race_date": day.isoformat(),
                "race_name": name,
                "track_id": slugify(track),
                "track_name": track,
                "track_type": ttype,
                "track_length_miles": length,
                "scheduled_laps": sched,
                "laps": laps,
                "lock_time": _lock_time(day),
                "status": "final" if run else "scheduled",
            }
        )
        entry_rows.append(
            pd.DataFrame(
                {
                    "race_key": key,
                    "driver_id": ids[idx],
                    "car_number": car_number[idx],
                    "team": team[idx],
                    "manufacturer": make[idx],
                    "salary": salary,
                    "dk_id": 30_000_000 + n_race * 100 + np.arange(len(idx)),
                    "start_position": start,
                    "dk_own_pct": own,
                    "fd_salary": fd_salary,
                    "fd_id": [f"{FD_SLATE_BASE + 1 + n_race}-{FD_PLAYER_BASE + i}" for i in idx],
                }
            )
        )
        contests.append(
            {
                "contest_id": f"dk-demo-{key}",
                "race_key": key,
                "site": "draftkings",
                "name": f"NASCAR $85K {name} Demo GPP [150 Entry Max]",
                "entry_fee": fee,
                "field_size": size,
                "max_entries": 150,
                "payouts": payouts,
            }
        )

    entries = pd.concat(entry_rows, ignore_index=True)
    entries["dk_own_pct"] = entries["dk_own_pct"].astype("Float64")
    drivers = pool[["driver_id", "name"]]
    return OntologyTables(
        races=conform("races", pd.DataFrame(race_rows)),
        drivers=conform("drivers", drivers),
        entries=conform("entries", entries),
        results=conform("results", pd.concat(result_frames, ignore_index=True)),
        contests=conform("contests", pd.DataFrame(contests)),
    )


def _lock_time(day: dt.date) -> str:
    t = dt.datetime(day.year, day.month, day.day, LOCK_HOUR_UTC, LOCK_MINUTE_UTC, tzinfo=dt.UTC)
    return t.isoformat()


# --------------------------------------------------------------------------- statistics


def world_statistics(
    races: pd.DataFrame, results: pd.DataFrame, entries: pd.DataFrame | None = None
) -> dict[str, float]:
    """Summary statistics of run races, comparable between the demo world and real history.

    races: race_key, track_type, laps. results: race_key, driver_id, finish_position,
    laps_led, fastest_laps, status and start_position (or `entries` holding start_position).
    """
    r = races[races["laps"].notna()][["race_key", "track_type", "laps"]]
    d = results.merge(r, on="race_key", how="inner")
    if "start_position" not in d.columns:
        d = d.merge(
            entries[["race_key", "driver_id", "start_position"]],
            on=["race_key", "driver_id"],
            how="left",
        )
    d = d.astype(
        {
            "laps": float,
            "laps_led": float,
            "fastest_laps": float,
            "finish_position": float,
            "start_position": float,
        }
    )
    g = d.groupby("race_key")
    laps = g["laps"].first()
    ttype = g["track_type"].first()
    out: dict[str, float] = {
        "races": float(len(laps)),
        "starts": float(len(d)),
        "cars_per_race": float(g.size().mean()),
    }
    dnf = d["status"].astype(str) != "running"
    for t in TRACK_TYPES:
        m = (d["track_type"] == t).to_numpy()
        out[f"dnf_rate_{t}"] = float(dnf[m].mean()) if m.any() else float("nan")
        lead = (g["laps_led"].max() / laps)[ttype == t]
        out[f"top_leader_share_{t}"] = float(lead.mean()) if len(lead) else float("nan")
    out["laps_led_per_lap"] = float((g["laps_led"].sum() / laps).mean())
    out["fastest_laps_per_lap"] = float((g["fastest_laps"].sum() / laps).mean())
    out["leaders_per_race"] = float(g["laps_led"].apply(lambda v: (v > 0).sum()).mean())
    out["start_finish_spearman"] = float(
        d[["start_position", "finish_position"]].corr(method="spearman").iloc[0, 1]
    )
    pts = draftkings_points(
        d["start_position"].to_numpy(),
        d["finish_position"].to_numpy(),
        d["laps_led"].to_numpy(),
        d["fastest_laps"].fillna(0).to_numpy(),
    )
    out["dk_points_mean"] = float(pts.mean())
    out["dk_points_sd"] = float(pts.std())
    out["dk_points_p90"] = float(np.percentile(pts, 90))
    out["dk_points_max"] = float(pts.max())
    return out
