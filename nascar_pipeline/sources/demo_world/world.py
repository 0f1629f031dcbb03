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

`world_statistics(races, results)` (stats.py) summarises a world (or the real history) the same way, for
tests and the `seed-demo --compare-history` report.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from nascar_pipeline.core.slugs import make_race_key, slugify
from nascar_pipeline.core.tables import TRACK_TYPES, OntologyTables, conform
from nascar_pipeline.sources.demo_world.calendar import (
    LAST_SEASON,
    SCHEDULE,
    lock_time,
    season_dates,
)
from nascar_pipeline.sources.demo_world.cast import TEAMS, driver_pool
from nascar_pipeline.sources.demo_world.race import laps_run, qualify, simulate_race
from nascar_pipeline.sources.demo_world.slate import (
    CONTEST_ENTRY_FEE,
    CONTEST_FIELD_SIZE,
    FD_PLAYER_BASE,
    FD_SLATE_BASE,
    dk_gpp_payouts,
    fd_salaries,
    ownership,
    salaries,
)

MAX_FIELD = 40


def generate_world(seed: int = 7, seasons: int = 3, upcoming: bool = True) -> OntologyTables:
    if seasons < 1:
        raise ValueError("seasons must be >= 1")
    rng = np.random.default_rng(seed)
    fd_rng = np.random.default_rng([seed, 0xFD])  # FanDuel slates: a stream of their own
    pool = driver_pool(rng)
    n_drv = len(pool)
    skill_tt = rng.normal(0.0, 0.35, (n_drv, 4))
    team_eff = rng.normal(0.0, 0.3, len(TEAMS))[pool["team_idx"].to_numpy()]
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
        for day, row in zip(season_dates(first_season + si), SCHEDULE)
    ]
    if upcoming:
        plan.append((seasons, LAST_SEASON + 1, season_dates(LAST_SEASON + 1)[0], SCHEDULE[0]))

    for n_race, (si, season, day, (track, ttype, length, sched, name)) in enumerate(plan):
        run = si < seasons
        tt = TRACK_TYPES.index(ttype)
        race_id += 1
        key = make_race_key(season, track, name)
        idx = entrants(tt)
        strength = strength_of(idx, si, tt)
        # DraftKings prices the slate before qualifying, from what it knows of the drivers.
        salary = salaries(strength, rng)
        fd_salary = fd_salaries(strength, fd_rng)
        laps = laps_run(rng, sched, tt) if run else None
        if run:
            sim = simulate_race(rng, strength, tt, laps)
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
            own = ownership(strength, start, salary, rng)
        else:
            start = qualify(rng, strength, tt)
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
                "lock_time": lock_time(day),
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
