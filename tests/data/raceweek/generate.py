"""Writes the race-week sample set in this folder: a Cup history (2024-2025), the schedule and
weekend feed of a race not yet run (2026 Kansas, fall), its DraftKings salaries, two contests, a
vendor's projections, DraftKings' entries file, a steering file and an aliases file. See README.md.

Deterministic (seeded): run it again and every file comes out byte for byte the same
(tests/ontology/test_raceweek_samples.py checks that). From the repository root:

    .venv/bin/python tests/data/raceweek/generate.py [OUT_DIR]

Names, car numbers, teams and makes are the public Cup field of each season; NASCAR driver ids
are NASCAR's public ids. Every number (grids, results, laps, salaries, DK ids, projections,
contests) is drawn here from a small race model below, not taken from any data set.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from nascar_pipeline.core.slugs import slugify

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SEED = 2026

# The new race: not yet run; the files below carry its grid, slate and contests.
NEW_RACE = {
    "race_id": 5630,
    "race_season": 2026,
    "race_name": "Hollywood Casino 400",
    "track_id": 36,
    "track_name": "Kansas Speedway",
    "date_scheduled": "2026-09-27T15:00:00",
    "scheduled_laps": 267,
    "stages": (80, 85, 102),
    "track_type": "intermediate",
}
RACE_KEY = "2026-kansas-hollywood-casino-400"

# driver id -> NASCAR's spelling per season (only the respelled drivers differ).
SPELLINGS = {
    4113: {2024: "Daniel Suarez", 2025: "Daniel Suárez", 2026: "Daniel Suárez"},
    4092: {2024: "John Hunter Nemechek", 2025: "John H. Nemechek", 2026: "John H. Nemechek"},
    3888: {2024: "Ricky Stenhouse Jr.", 2025: "Ricky Stenhouse Jr", 2026: "Ricky Stenhouse Jr"},
}
# DraftKings' spellings that differ from NASCAR's. Accents, case and Jr. are matched without an
# alias; "John Nemechek" matches no NASCAR spelling and needs aliases.csv.
DK_NAMES = {
    4113: "Daniel Suarez",
    4092: "John Nemechek",
    3888: "Ricky Stenhouse Jr.",
    4469: "Shane Van Gisbergen",
}

# fmt: off
HMS, JGR, PEN, RFK = "Hendrick Motorsports", "Joe Gibbs Racing", "Team Penske", "RFK Racing"
TH, XXIII, SPIRE, FRM = "Trackhouse Racing", "23XI Racing", "Spire Motorsports", "Front Row Motorsports"
RCR, LMC, KAU, WBR = "Richard Childress Racing", "Legacy Motor Club", "Kaulig Racing", "Wood Brothers Racing"
RWR, SHR = "Rick Ware Racing", "Stewart-Haas Racing"
CHEV, FORD, TOY = "Chevrolet", "Ford", "Toyota"

# (driver id, name, strength rank tier 1..5, {season: (car, team, make)}); a season missing is a
# season the driver did not race full time (part-timers are in PART_TIME).
FIELD = [
    (4030, "Kyle Larson", 1, {2024: ("5", HMS, CHEV), 2025: ("5", HMS, CHEV), 2026: ("5", HMS, CHEV)}),
    (4153, "Christopher Bell", 1, {2024: ("20", JGR, TOY), 2025: ("20", JGR, TOY), 2026: ("20", JGR, TOY)}),
    (1361, "Denny Hamlin", 1, {2024: ("11", JGR, TOY), 2025: ("11", JGR, TOY), 2026: ("11", JGR, TOY)}),
    (4184, "William Byron", 1, {2024: ("24", HMS, CHEV), 2025: ("24", HMS, CHEV), 2026: ("24", HMS, CHEV)}),
    (4065, "Tyler Reddick", 1, {2024: ("45", XXIII, TOY), 2025: ("45", XXIII, TOY), 2026: ("45", XXIII, TOY)}),
    (4023, "Ryan Blaney", 2, {2024: ("12", PEN, FORD), 2025: ("12", PEN, FORD), 2026: ("12", PEN, FORD)}),
    (4062, "Chase Elliott", 2, {2024: ("9", HMS, CHEV), 2025: ("9", HMS, CHEV), 2026: ("9", HMS, CHEV)}),
    (3859, "Joey Logano", 2, {2024: ("22", PEN, FORD), 2025: ("22", PEN, FORD), 2026: ("22", PEN, FORD)}),
    (4228, "Chase Briscoe", 2, {2024: ("14", SHR, FORD), 2025: ("19", JGR, TOY), 2026: ("19", JGR, TOY)}),
    (4368, "Ty Gibbs", 2, {2024: ("54", JGR, TOY), 2025: ("54", JGR, TOY), 2026: ("54", JGR, TOY)}),
    (4001, "Ross Chastain", 2, {2024: ("1", TH, CHEV), 2025: ("1", TH, CHEV), 2026: ("1", TH, CHEV)}),
    (4469, "Shane van Gisbergen", 3, {2025: ("88", TH, CHEV), 2026: ("97", TH, CHEV)}),
    (454, "Kyle Busch", 3, {2024: ("8", RCR, CHEV), 2025: ("8", RCR, CHEV), 2026: ("8", RCR, CHEV)}),
    (3989, "Chris Buescher", 3, {2024: ("17", RFK, FORD), 2025: ("17", RFK, FORD), 2026: ("17", RFK, FORD)}),
    (4025, "Bubba Wallace", 3, {2024: ("23", XXIII, TOY), 2025: ("23", XXIII, TOY), 2026: ("23", XXIII, TOY)}),
    (4045, "Alex Bowman", 3, {2024: ("48", HMS, CHEV), 2025: ("48", HMS, CHEV), 2026: ("48", HMS, CHEV)}),
    (1816, "Brad Keselowski", 3, {2024: ("6", RFK, FORD), 2025: ("6", RFK, FORD), 2026: ("6", RFK, FORD)}),
    (4180, "Austin Cindric", 3, {2024: ("2", PEN, FORD), 2025: ("2", PEN, FORD), 2026: ("2", PEN, FORD)}),
    (4326, "Carson Hocevar", 3, {2024: ("77", SPIRE, CHEV), 2025: ("77", SPIRE, CHEV), 2026: ("77", SPIRE, CHEV)}),
    (4070, "Ryan Preece", 3, {2024: ("41", SHR, FORD), 2025: ("60", RFK, FORD), 2026: ("60", RFK, FORD)}),
    (4113, "Daniel Suárez", 4, {2024: ("99", TH, CHEV), 2025: ("99", TH, CHEV), 2026: ("7", SPIRE, CHEV)}),
    (3832, "Michael McDowell", 4, {2024: ("34", FRM, FORD), 2025: ("71", SPIRE, CHEV), 2026: ("71", SPIRE, CHEV)}),
    (4092, "John H. Nemechek", 4, {2024: ("42", LMC, TOY), 2025: ("42", LMC, TOY), 2026: ("42", LMC, TOY)}),
    (4059, "Erik Jones", 4, {2024: ("43", LMC, TOY), 2025: ("43", LMC, TOY), 2026: ("43", LMC, TOY)}),
    (4123, "Josh Berry", 4, {2024: ("4", SHR, FORD), 2025: ("21", WBR, FORD), 2026: ("21", WBR, FORD)}),
    (4272, "Zane Smith", 4, {2024: ("71", SPIRE, CHEV), 2025: ("38", FRM, FORD), 2026: ("38", FRM, FORD)}),
    (3774, "AJ Allmendinger", 4, {2025: ("16", KAU, CHEV), 2026: ("16", KAU, CHEV)}),
    (3873, "Austin Dillon", 4, {2024: ("3", RCR, CHEV), 2025: ("3", RCR, CHEV), 2026: ("3", RCR, CHEV)}),
    (4481, "Connor Zilisch", 4, {2026: ("88", TH, CHEV)}),
    (3888, "Ricky Stenhouse Jr", 5, {2024: ("47", "JTG Daugherty Racing", CHEV), 2025: ("47", "HYAK Motorsports", CHEV), 2026: ("47", "HYAK Motorsports", CHEV)}),
    (4231, "Todd Gilliland", 5, {2024: ("38", FRM, FORD), 2025: ("34", FRM, FORD), 2026: ("34", FRM, FORD)}),
    (4104, "Cole Custer", 5, {2025: ("41", "Haas Factory Team", FORD), 2026: ("41", "Haas Factory Team", CHEV)}),
    (4224, "Noah Gragson", 5, {2024: ("10", SHR, FORD), 2025: ("4", FRM, FORD), 2026: ("4", FRM, FORD)}),
    (4269, "Riley Herbst", 5, {2025: ("35", XXIII, TOY), 2026: ("35", XXIII, TOY)}),
    (4013, "Ty Dillon", 5, {2025: ("10", KAU, CHEV), 2026: ("10", KAU, CHEV)}),
    (4125, "Cody Ware", 5, {2025: ("51", RWR, FORD), 2026: ("51", RWR, CHEV)}),
    (3368, "Martin Truex Jr", 2, {2024: ("19", JGR, TOY)}),
    (4217, "Harrison Burton", 5, {2024: ("21", WBR, FORD)}),
    (4096, "Corey LaJoie", 5, {2024: ("7", SPIRE, CHEV)}),
    (4172, "Justin Haley", 5, {2024: ("51", RWR, FORD), 2025: ("7", SPIRE, CHEV)}),
    (4191, "Kaz Grala", 5, {2024: ("15", RWR, FORD)}),
]
OVALS_2024 = {"daytona-international-speedway", "las-vegas-motor-speedway", "phoenix-raceway",
              "martinsville-speedway", "kansas-speedway"}
# Part-time starts: (driver id, season, car, team, make, the tracks (slugs) he raced).
PART_TIME = [
    (4469, 2024, "97", TH, CHEV, {"sonoma-raceway"}),
    (3774, 2024, "16", KAU, CHEV, {"sonoma-raceway", "kansas-speedway", "las-vegas-motor-speedway"}),
    (3368, 2025, "56", "Tricon Garage", TOY, {"daytona-international-speedway"}),
    (4481, 2025, "87", TH, CHEV, {"sonoma-raceway"}),
    (3669, 2024, "44", "NY Racing Team", CHEV, OVALS_2024),
    (4133, 2024, "33", RCR, CHEV, OVALS_2024),
    (3669, 2025, "44", "NY Racing Team", CHEV, {"daytona-international-speedway", "martinsville-speedway"}),
]
PART_TIME_NAMES = {3669: "JJ Yeley", 4133: "Austin Hill"}
# fmt: on

# Track-type strengths beyond the driver's tier (driver id -> {type: bonus}).
AFFINITY = {
    4469: {"road": 2.2, "superspeedway": -0.2},
    3774: {"road": 1.0},
    4481: {"road": 1.0},
    3832: {"road": 0.6, "superspeedway": 0.6},
    4001: {"road": 0.4, "short": 0.2},
    4065: {"road": 0.5, "intermediate": 0.3},
    4030: {"intermediate": 0.5, "short": 0.3},
    1361: {"short": 0.6, "intermediate": 0.2},
    4153: {"short": 0.4, "road": 0.3},
    4184: {"short": 0.3, "intermediate": 0.2},
    3859: {"superspeedway": 0.6},
    4023: {"superspeedway": 0.6},
    1816: {"superspeedway": 0.6},
    4025: {"superspeedway": 0.5},
    4180: {"superspeedway": 0.4},
    3888: {"superspeedway": 0.5},
    4231: {"superspeedway": 0.3},
}

# (race id, date, race name, track name, scheduled laps, laps run, track type, length)
# fmt: off
RACES = [
    (5395, "2024-02-19", "DAYTONA 500", "Daytona International Speedway", 200, 200, "superspeedway", 2.5),
    (5401, "2024-03-03", "Pennzoil 400 presented by Jiffy Lube", "Las Vegas Motor Speedway", 267, 267, "intermediate", 1.5),
    (5402, "2024-03-10", "Shriners Children's 500", "Phoenix Raceway", 312, 312, "short", 1.0),
    (5407, "2024-04-07", "Cook Out 400", "Martinsville Speedway", 400, 400, "short", 0.526),
    (5411, "2024-05-05", "AdventHealth 400", "Kansas Speedway", 267, 267, "intermediate", 1.5),
    (5416, "2024-06-09", "Toyota / Save Mart 350", "Sonoma Raceway", 110, 112, "road", 1.99),
    (5431, "2024-09-29", "Hollywood Casino 400", "Kansas Speedway", 267, 267, "intermediate", 1.5),
    (5503, "2025-02-16", "DAYTONA 500", "Daytona International Speedway", 200, 201, "superspeedway", 2.5),
    (5507, "2025-03-09", "Shriners Children's 500", "Phoenix Raceway", 312, 312, "short", 1.0),
    (5508, "2025-03-16", "Pennzoil 400 presented by Jiffy Lube", "Las Vegas Motor Speedway", 267, 267, "intermediate", 1.5),
    (5510, "2025-03-30", "Cook Out 400", "Martinsville Speedway", 400, 400, "short", 0.526),
    (5515, "2025-05-11", "AdventHealth 400", "Kansas Speedway", 267, 267, "intermediate", 1.5),
    (5523, "2025-07-13", "Toyota / Save Mart 350", "Sonoma Raceway", 110, 110, "road", 1.99),
    (5541, "2025-09-28", "Hollywood Casino 400", "Kansas Speedway", 267, 267, "intermediate", 1.5),
]
# fmt: on
NO_LOOP_DATA = {5395}  # a race without loop data: its fastest_laps are blank
MISSING_CAR = (5395, 3669)  # (race, driver) whose car number the source left blank

DNF_RATE = {"superspeedway": 0.26, "intermediate": 0.14, "short": 0.10, "road": 0.09}
NOISE = {"superspeedway": 1.9, "intermediate": 0.9, "short": 0.95, "road": 1.05}
LEADER_SHARE = {"superspeedway": 0.25, "intermediate": 0.45, "short": 0.5, "road": 0.45}
LAPS_DOWN = {"superspeedway": 0.0, "intermediate": 0.12, "short": 0.35, "road": 0.03}
DNF_REASONS = {
    "superspeedway": ["accident", "accident", "accident", "dvp", "engine"],
    "intermediate": ["accident", "engine", "dvp", "suspension", "accident"],
    "short": ["accident", "brakes", "suspension", "dvp", "engine"],
    "road": ["accident", "transmission", "dvp", "engine", "suspension"],
}
MODELS = {CHEV: "Camaro", FORD: "Mustang", TOY: "Camry"}

# ----------------------------------------------------------------------------- the race model


def strengths(rng) -> dict[int, float]:
    """Each driver's base strength: his tier plus a seeded wobble."""
    tier = {d: t for d, _, t, _ in FIELD}
    tier.update({3669: 6, 4133: 5})
    return {d: 1.6 - 0.55 * (t - 1) + rng.normal(0, 0.2) for d, t in sorted(tier.items())}


def race_field(season: int, track_slug: str) -> list[tuple[int, str, str, str, str]]:
    """(driver id, NASCAR spelling, car, team, make) of each starter of a season's race."""
    rows = []
    for did, name, _, seasons in FIELD:
        if season in seasons:
            car, team, make = seasons[season]
            rows.append((did, SPELLINGS.get(did, {}).get(season, name), car, team, make))
    for did, s, car, team, make, tracks in PART_TIME:
        if s == season and track_slug in tracks:
            name = PART_TIME_NAMES.get(did) or next(n for d, n, _, _ in FIELD if d == did)
            rows.append((did, name, car, team, make))
    return rows


def ability(base: dict[int, float], did: int, track_type: str) -> float:
    return base[did] + AFFINITY.get(did, {}).get(track_type, 0.0)


def qualify(rng, abilities: np.ndarray, track_type: str) -> np.ndarray:
    """Starting positions (1..N) from a qualifying run: ability plus noise."""
    q = abilities + rng.normal(0, 0.8 if track_type != "superspeedway" else 1.4, abilities.size)
    order = np.argsort(-q, kind="stable")
    start = np.empty(abilities.size, dtype=np.int64)
    start[order] = np.arange(1, abilities.size + 1)
    return start


def run_race(rng, abilities: np.ndarray, start: np.ndarray, laps: int, track_type: str) -> dict:
    """One race: finishing positions, laps completed, laps led, fastest laps, DNF flags."""
    n = abilities.size
    perf = abilities - 0.25 * np.log(start) + rng.normal(0, NOISE[track_type], n)
    dnf = rng.random(n) < DNF_RATE[track_type] * np.exp(-0.25 * (abilities - abilities.mean()))
    out_lap = np.where(dnf, rng.integers(1, laps, n), laps)
    running = np.flatnonzero(~dnf)
    laps_done = out_lap.copy()
    on_lead_lap = int(rng.integers(14, 26))
    for k, d in enumerate(running[np.argsort(-perf[running], kind="stable")]):
        down = max(0, k + 1 - on_lead_lap) * LAPS_DOWN[track_type]
        laps_done[d] = laps - int(down + rng.random() * min(1.0, down))
    # NASCAR's order: laps completed, then the running cars ahead, then pace
    order = np.lexsort((-perf, dnf, -laps_done))
    finish = np.empty(n, dtype=np.int64)
    finish[order] = np.arange(1, n + 1)
    led = _laps_led(rng, perf, dnf, out_lap, finish, laps, track_type)
    fast = rng.multinomial(
        int(round(0.77 * laps)), _softmax(1.3 * perf + np.log(laps_done / laps + 1e-3))
    )
    return {"finish": finish, "laps_completed": laps_done, "laps_led": led, "fastest": fast,
            "dnf": dnf}  # fmt: skip


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def _laps_led(rng, perf, dnf, out_lap, finish, laps, track_type) -> np.ndarray:
    """Laps led summing to the laps run: a dominant car (about LEADER_SHARE of the laps), a few
    others, the winner at least the last lap; a car that fell out leads only before it did."""
    n = perf.size
    k = int(rng.integers(10, 18)) if track_type == "superspeedway" else int(rng.integers(4, 10))
    p = _softmax(1.6 * perf)
    leaders = rng.choice(n, size=k, replace=False, p=p)
    winner = int(np.flatnonzero(finish == 1)[0])
    if winner not in leaders:
        leaders[-1] = winner
    share = LEADER_SHARE[track_type]
    rest = rng.dirichlet(np.full(k - 1, 0.8)) * (1 - share)
    shares = np.concatenate([[share], rest])
    led = np.zeros(n, dtype=np.int64)
    counts = rng.multinomial(laps - 1, shares)
    for d, c in zip(leaders, counts):
        cap = int(out_lap[d]) - 1 if dnf[d] else laps
        led[d] += min(int(c), max(cap, 0))
    led[winner] += laps - led.sum()  # what others could not lead, and the last lap
    return led


# ----------------------------------------------------------------------------- the files


def write_history(out: Path, rng, base) -> pd.DataFrame:
    races, rows = [], []
    for rid, date, name, track, _sched, laps, ttype, length in RACES:
        season = int(date[:4])
        races.append((rid, season, date, name, track, laps, ttype, length))
        field = race_field(season, slugify(track))
        ab = np.array([ability(base, d, ttype) for d, *_ in field])
        start = qualify(rng, ab, ttype)
        res = run_race(rng, ab, start, laps, ttype)
        for i, (did, dname, car, team, make) in enumerate(field):
            status = "running"
            if res["dnf"][i]:
                status = DNF_REASONS[ttype][int(rng.integers(0, 5))]
            rows.append({
                "race_id": rid, "driver_id": did, "driver_name": dname,
                "car_number": None if (rid, did) == MISSING_CAR else car,
                "team": team, "manufacturer": make,
                "start_position": int(start[i]), "finish_position": int(res["finish"][i]),
                "laps_completed": int(res["laps_completed"][i]),
                "laps_led": int(res["laps_led"][i]),
                "fastest_laps": np.nan if rid in NO_LOOP_DATA else float(res["fastest"][i]),
                "status": status,
            })  # fmt: skip
    races_df = pd.DataFrame(races, columns=["race_id", "season", "race_date", "race_name",
                                            "track_name", "laps", "track_type",
                                            "track_length_miles"])  # fmt: skip
    races_df.to_csv(out / "races.csv", index=False, lineterminator="\n")
    results = pd.DataFrame(rows).sort_values(["race_id", "finish_position"], kind="stable")
    # written by pandas as a user's script would: fastest_laps holds a blank (a race without
    # loop data), so pandas writes the column as floats, `12.0`
    results.to_csv(out / "results.csv", index=False, lineterminator="\n")
    return results


def new_race_grid(rng, base) -> list[dict]:
    ttype = NEW_RACE["track_type"]
    field = race_field(2026, slugify(NEW_RACE["track_name"]))
    ab = np.array([ability(base, d, ttype) for d, *_ in field])
    start = qualify(rng, ab, ttype)
    return [
        {"driver_id": did, "name": name, "car": car, "team": team, "make": make,
         "ability": float(ab[i]), "start": int(start[i])}
        for i, (did, name, car, team, make) in enumerate(field)
    ]  # fmt: skip


def _race_fields(race: dict, laps_run: int = 0) -> dict:
    """The race-level fields NASCAR's schedule and weekend feed share (a race not yet run)."""
    s1, s2, s3 = race["stages"]
    return {
        "race_id": race["race_id"], "series_id": 1, "race_season": race["race_season"],
        "race_name": race["race_name"], "race_type_id": 1, "restrictor_plate": False,
        "track_id": race["track_id"], "track_name": race["track_name"],
        "date_scheduled": race["date_scheduled"], "race_date": race["date_scheduled"],
        "qualifying_date": race["date_scheduled"][:10] + "T00:00:00",
        "tunein_date": race["date_scheduled"],
        "scheduled_distance": round(race["scheduled_laps"] * race.get("length", 1.5)),
        "actual_distance": 0, "scheduled_laps": race["scheduled_laps"], "actual_laps": laps_run,
        "stage_1_laps": s1, "stage_2_laps": s2, "stage_3_laps": s3,
    }  # fmt: skip


def write_schedule(out: Path) -> None:
    """race_list_basic.json: the Cup list (an exhibition, the new race, the next week's race) and
    one race of each lower series, as NASCAR serves the season's schedule."""
    clash = {"race_id": 5590, "race_season": 2026, "race_name": "Cook Out Clash at Bowman Gray",
             "track_id": 211, "track_name": "Bowman Gray Stadium",
             "date_scheduled": "2026-02-01T20:00:00", "scheduled_laps": 200, "stages": (0, 0, 0),
             "length": 0.25}  # fmt: skip
    roval = {"race_id": 5631, "race_season": 2026, "race_name": "Bank of America ROVAL 400",
             "track_id": 206, "track_name": "Charlotte Motor Speedway Road Course",
             "date_scheduled": "2026-10-04T15:00:00", "scheduled_laps": 109,
             "stages": (25, 25, 59), "length": 2.28}  # fmt: skip

    def listed(race, type_id=1, series=1):
        r = _race_fields(race)
        r.update(series_id=series, race_type_id=type_id)
        r.update({"number_of_cars_in_field": 0, "pole_winner_driver_id": 0,
                  "pole_winner_speed": 0, "number_of_lead_changes": 0, "number_of_leaders": 0,
                  "number_of_cautions": 0, "number_of_caution_laps": 0, "average_speed": 0,
                  "total_race_time": "", "margin_of_victory": "", "race_purse": 0,
                  "race_comments": "", "attendance": 0, "infractions": [], "schedule": [],
                  "radio_broadcaster": "MRN", "television_broadcaster": "USA",
                  "satellite_radio_broadcaster": "SIRIUSXM", "master_race_id": 0,
                  "inspection_complete": False, "playoff_round": 0, "is_qualifying_race": False,
                  "qualifying_race_no": 0, "qualifying_race_id": -1, "has_qualifying": True,
                  "winner_driver_id": None, "pole_winner_laptime": None})  # fmt: skip
        return r

    kansas = dict(NEW_RACE, length=1.5)
    xfinity = dict(kansas, race_id=5700, race_name="Kansas Lottery 300", scheduled_laps=200,
                   date_scheduled="2026-09-26T15:30:00", stages=(45, 45, 110))  # fmt: skip
    trucks = dict(kansas, race_id=5770, race_name="Kansas Truck 250", scheduled_laps=167,
                  date_scheduled="2026-09-26T12:00:00", stages=(40, 40, 87))  # fmt: skip
    data = {
        "series_1": [listed(clash, type_id=2), listed(kansas), listed(roval)],
        "series_2": [listed(xfinity, series=2)],
        "series_3": [listed(trucks, series=3)],
    }
    (out / "race_list_basic.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n",
                                              encoding="utf-8")  # fmt: skip


def write_feed(out: Path, grid: list[dict], rng) -> None:
    """weekend-feed.json: the new race after qualifying, before the green flag: every car with
    its starting position and finishing_position 0 (NASCAR's feed before a race is run)."""
    race = _race_fields(dict(NEW_RACE, length=1.5))
    pole = next(g for g in grid if g["start"] == 1)
    race.update({"stage_4_laps": 0, "number_of_cars_in_field": len(grid),
                 "pole_winner_driver_id": pole["driver_id"],
                 "pole_winner_speed": round(float(178.0 + rng.random() * 2), 3),
                 "number_of_lead_changes": 0, "number_of_leaders": 0, "number_of_cautions": 0,
                 "number_of_caution_laps": 0, "average_speed": 0, "total_race_time": "",
                 "margin_of_victory": "", "race_purse": 0, "race_comments": "",
                 "attendance": 0})  # fmt: skip
    team_ids = {t: 1700 + i for i, t in enumerate(sorted({g["team"] for g in grid}))}
    speeds = {}
    results = []
    for k, g in enumerate(sorted(grid, key=lambda g: g["start"])):
        speeds[g["driver_id"]] = round(179.5 - 0.08 * g["start"] - rng.random() * 0.05, 3)
        results.append({
            "result_id": 291400 + k, "finishing_position": 0, "starting_position": g["start"],
            "car_number": g["car"], "driver_fullname": g["name"], "driver_id": g["driver_id"],
            "team_id": team_ids[g["team"]], "team_name": g["team"],
            "qualifying_order": int(rng.integers(1, len(grid) + 1)),
            "qualifying_position": g["start"], "qualifying_speed": speeds[g["driver_id"]],
            "laps_led": 0, "times_led": 0, "car_make": g["make"], "car_model": MODELS[g["make"]],
            "points_earned": 0, "playoff_points_earned": 0, "laps_completed": 0,
            "finishing_status": "", "winnings": 0, "series_id": 1,
            "race_season": NEW_RACE["race_season"], "race_id": NEW_RACE["race_id"],
            "owner_fullname": g["team"], "official_car_number": g["car"], "disqualified": False,
            "diff_laps": 0, "diff_time": 0,
        })  # fmt: skip
    race.update({"results": results, "caution_segments": [], "race_leaders": [],
                 "infractions": [], "schedule": [], "stage_results": [], "pit_reports": [],
                 "radio_broadcaster": "MRN", "television_broadcaster": "USA",
                 "satellite_radio_broadcaster": "SIRIUSXM", "master_race_id": 5112,
                 "inspection_complete": True, "playoff_round": 2})  # fmt: skip
    qual = [
        {"run_id": 5901, "car_number": g["car"], "vehicle_number": g["car"],
         "manufacturer": g["make"], "driver_id": g["driver_id"], "driver_name": g["name"],
         "finishing_position": g["start"],
         "best_lap_time": round(1.5 * 3600 / speeds[g["driver_id"]], 3),
         "best_lap_speed": speeds[g["driver_id"]], "best_lap_number": 1, "laps_completed": 1,
         "comment": "", "delta_leader": 0, "disqualified": False}
        for g in sorted(grid, key=lambda g: g["start"])
    ]  # fmt: skip
    runs = [{"weekend_run_id": 5901, "race_id": NEW_RACE["race_id"], "timing_run_id": 2,
             "run_type": 2, "run_name": "Hollywood Casino 400 Busch Light Pole Qualifying",
             "run_date": "2026-09-26T17:40:00", "run_date_utc": "2026-09-26T21:40:00",
             "results": qual}]  # fmt: skip
    text = json.dumps({"weekend_race": [race], "weekend_runs": runs}, indent="\t",
                      ensure_ascii=False)  # fmt: skip
    # NASCAR's live feeds start with a UTF-8 byte-order mark
    (out / "weekend-feed.json").write_text("\ufeff" + text + "\n", encoding="utf-8")


def dk_points(start, finish, led, fast) -> np.ndarray:
    from nascar_pipeline.core.rules import draftkings_points

    return draftkings_points(start, finish, led, fast)


def salaries(rng, grid: list[dict]) -> dict[int, int]:
    """DK-style salaries, $4,500-$11,000 in $100 steps, set before qualifying from the drivers'
    strength at this track type (with a pricing wobble)."""
    ab = np.array([g["ability"] for g in grid]) + rng.normal(0, 0.25, len(grid))
    rank = np.argsort(np.argsort(-ab))  # 0 = best
    x = 1.0 - rank / (len(grid) - 1)
    price = 4500 + (11000 - 4500) * x**1.35
    price = np.round(price / 100) * 100
    price[rank == 0] = 11000
    price[rank == len(grid) - 1] = 4500
    return {g["driver_id"]: int(p) for g, p in zip(grid, price)}


def simulate_points(rng, grid: list[dict], n: int = 4000) -> np.ndarray:
    """(n, D) DK points of the new race simulated with the history's race model."""
    ab = np.array([g["ability"] for g in grid])
    start = np.array([g["start"] for g in grid])
    laps = NEW_RACE["scheduled_laps"]
    out = np.empty((n, len(grid)))
    for i in range(n):
        r = run_race(rng, ab, start, laps, NEW_RACE["track_type"])
        out[i] = dk_points(start, r["finish"], r["laps_led"], r["fastest"])
    return out


def dk_name(did: int, nascar_name: str) -> str:
    return DK_NAMES.get(did, nascar_name)


def write_dk_salaries(out: Path, grid, pay, avg, dk_ids) -> list[tuple]:
    from tests.support.dk_files import DK_HEADER

    players = sorted(grid, key=lambda g: (-pay[g["driver_id"]], dk_ids[g["driver_id"]]))
    rows = [(dk_name(g["driver_id"], g["name"]), dk_ids[g["driver_id"]], pay[g["driver_id"]],
             avg[g["driver_id"]]) for g in players]  # fmt: skip
    with open(out / "DKSalaries.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)  # DraftKings' export: CRLF line ends, no byte-order mark
        w.writerow(DK_HEADER)
        for name, pid, sal, a in rows:
            w.writerow(["D", f"{name} ({pid})", name, pid, "D", sal, GAME_INFO, "", a])
    return rows


GAME_INFO = "Kansas Speedway 09/27/2026 03:00PM ET"


def season_avg(results: pd.DataFrame, season_ids: set[int]) -> dict[int, str]:
    """DraftKings' AvgPointsPerGame: each driver's mean DK points in this season's races (the
    2025 races of the history), as DK prints it."""
    r = results[results["race_id"].isin(season_ids)]
    pts = dk_points(r["start_position"].to_numpy(), r["finish_position"].to_numpy(),
                    r["laps_led"].to_numpy(), r["fastest_laps"].fillna(0).to_numpy())  # fmt: skip
    mean = pd.Series(pts, index=r["driver_id"].to_numpy()).groupby(level=0).mean()
    return {int(d): f"{v:.2f}".rstrip("0").rstrip(".") for d, v in mean.items()}


def payout_table(entries: int, fee: float, rake: float, first: float, paid_frac: float,
                 breaks: list[int]) -> list[dict]:  # fmt: skip
    """A top-heavy DraftKings-style table: `first` to the winner, the min cash (2x the fee) to
    the last paid place, power-law tiers in between; whole dollars, never increasing."""
    pool = round(entries * fee * (1 - rake), -2)
    paid = int(entries * paid_frac)
    edges = [b for b in breaks if b < paid] + [paid]
    tiers, lo = [], 1
    for hi in edges:
        tiers.append((lo, hi))
        lo = hi + 1
    min_cash = 2 * fee
    mid = np.array([(a + b) / 2 for a, b in tiers])
    weight = mid**-1.25
    counts = np.array([b - a + 1 for a, b in tiers])
    budget = pool - first - min_cash * counts[1:].sum()
    extra = budget * weight[1:] / (weight[1:] * counts[1:]).sum()
    prizes = [first] + list(min_cash + extra)
    out, prev = [], None
    for (a, b), p in zip(tiers, prizes):
        p = float(max(min_cash, np.floor(p / 5) * 5 if p > 50 else np.floor(p)))
        p = min(p, prev) if prev is not None else p
        out.append({"min_place": a, "max_place": b, "prize": p})
        prev = p
    spent = sum(t["prize"] * (t["max_place"] - t["min_place"] + 1) for t in out)
    out[1]["prize"] += float(pool - spent)  # rounding goes to second place: first is as named
    return out


GPP = {"contest_id": "dk-184301527", "name": "NASCAR $150K Pit Stop [$30K to 1st]", "fee": 5,
       "field_size": 34482, "max_entries": 150, "first": 30000}  # fmt: skip
SINGLE = {"contest_id": "dk-184302913",
          "name": "NASCAR $20K Slingshot [Single Entry, $2.5K to 1st]", "fee": 10,
          "field_size": 2378, "max_entries": 1, "first": 2500}  # fmt: skip
ENTRIES = [(GPP, 5), (SINGLE, 1)]  # entries the player holds per contest (DKEntries.csv)


def write_contests(out: Path) -> None:
    breaks = [1, 2, 3, 4, 5, 7, 10, 15, 20, 30, 45, 70, 100, 150, 250, 400, 700, 1200, 2000,
              3500, 5500]  # fmt: skip
    contests = []
    for c, rake, frac in ((GPP, 0.13, 0.22), (SINGLE, 0.16, 0.24)):
        contests.append({
            "contest_id": c["contest_id"], "site": "draftkings", "name": c["name"],
            "entry_fee": c["fee"], "field_size": c["field_size"], "max_entries": c["max_entries"],
            "payouts": payout_table(c["field_size"], c["fee"], rake, c["first"], frac, breaks),
        })  # fmt: skip
    (out / "contests.json").write_text(json.dumps({"contests": contests}, indent=2) + "\n",
                                       encoding="utf-8")  # fmt: skip


def write_entries(out: Path, players: list[tuple]) -> None:
    from tests.support.dk_files import dk_entries_text, dk_player_rows

    entries, entry_id = [], 4893012001
    for c, n in ENTRIES:
        for _ in range(n):
            bare = c["contest_id"].split("-", 1)[1]
            entries.append((str(entry_id), c["name"], bare, f"${c['fee']}", None))
            entry_id += 1
    text = dk_entries_text(entries, dk_player_rows(players, GAME_INFO))
    with open(out / "DKEntries.csv", "w", newline="", encoding="utf-8") as fh:
        fh.write(text)


def write_projections(out: Path, grid, pay, dk_ids, sims: np.ndarray) -> None:
    """A vendor's sheet: DK's names and ids, salary, mean / floor (10th pct) / ceiling (90th pct)
    DK points from the simulated races, and projected ownership in % (sums to about 600)."""
    mean = sims.mean(axis=0)
    floor = np.percentile(sims, 10, axis=0)
    ceil = np.percentile(sims, 90, axis=0)
    sal = np.array([pay[g["driver_id"]] for g in grid], dtype=float)
    value = mean / (sal / 1000)
    z = lambda x: (x - x.mean()) / x.std()  # noqa: E731
    w = np.exp(0.45 * z(value) + 0.4 * z(mean))
    own = 600 * w / w.sum()
    own = np.minimum(own, 40.0)
    own = np.clip(own * 600 / own.sum(), 0.5, 48.0)
    rows = []
    for i in np.argsort(-mean, kind="stable"):
        g = grid[i]
        rows.append([dk_name(g["driver_id"], g["name"]), dk_ids[g["driver_id"]],
                     pay[g["driver_id"]], g["start"], f"{mean[i]:.2f}", f"{floor[i]:.2f}",
                     f"{ceil[i]:.2f}", f"{own[i]:.1f}%"])  # fmt: skip
    with open(out / "projections.csv", "w", newline="", encoding="utf-8") as fh:
        w_ = csv.writer(fh, lineterminator="\n")
        w_.writerow(["Name", "ID", "Salary", "Start", "Proj", "Floor", "Ceiling", "Own%"])
        w_.writerows(rows)


def write_aliases(out: Path) -> None:
    with open(out / "aliases.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["name", "driver_id"])
        w.writerow([DK_NAMES[4092], 4092])  # DraftKings' spelling NASCAR never used


def write_steering(out: Path, grid, pay) -> None:
    """A lock, an exclude, a per-driver max exposure and a team group, feasible on this slate."""
    name = {g["driver_id"]: g["name"] for g in grid}
    jgr = sorted(g["driver_id"] for g in grid if g["team"] == JGR)
    text = f"""# Steering for {RACE_KEY} (core/steering.py's Steering; driver ids are NASCAR's).
# Exposures are shares of each contest's lineups (5 in the GPP, 1 in the single-entry).
n_lineups: 5
lock:
  - 4025  # {name[4025]} (${pay[4025]:,})
exclude:
  - 4125  # {name[4125]}
exposures:
  - driver: 4030  # {name[4030]}: in at most 2 of 5 lineups
    max: 0.4
global_max_exposure: 0.6
groups:
  - name: {JGR}  # at most two Gibbs cars in a lineup
    drivers: [{", ".join(map(str, jgr))}]
    at_most: 2
taste: 0.5
"""
    (out / "steering.yaml").write_text(text, encoding="utf-8")


def main(out: Path = HERE) -> None:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    base = strengths(rng)
    results = write_history(out, rng, base)
    grid = new_race_grid(rng, base)
    write_schedule(out)
    write_feed(out, grid, rng)
    pay = salaries(rng, grid)
    ids = rng.permutation(len(grid))
    dk_ids = {g["driver_id"]: 41523690 + int(k) for g, k in zip(grid, ids)}
    avg = season_avg(results, {r[0] for r in RACES if r[1].startswith("2025")})
    avg = {g["driver_id"]: avg.get(g["driver_id"], "0") for g in grid}
    players = write_dk_salaries(out, grid, pay, avg, dk_ids)
    write_aliases(out)
    write_contests(out)
    write_entries(out, players)
    write_projections(out, grid, pay, dk_ids, simulate_points(rng, grid))
    write_steering(out, grid, pay)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
