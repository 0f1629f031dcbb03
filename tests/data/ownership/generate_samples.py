"""Writes the ownership samples in this folder (seeded: rerunning writes the same files).

    .venv/bin/python tests/data/ownership/generate_samples.py

A season of eight weekly races over a fictional field of 36 drivers (names and ids are made up):
- slates.csv: what is known before each race: race_key, race_date, driver_id, driver_name, DK
  salary (moved week to week by recent results, as DraftKings does), projection (DK points), start
  position, recent_dk_points and recent_finish (last five races), win_prob and top5_prob.
- standings/<race_key>.csv: the DraftKings contest-standings export of a 3,000-entry contest, in
  DraftKings' layout (the one `nascar-pipeline ingest ownership` parses): the entries block
  (Rank, EntryId, EntryName, TimeRemaining, Points, Lineup; the top 60 ranks kept) and, after an
  empty column, the player block (Player, Roster Position, %Drafted, FPTS).

The field: each entry draws six drivers by a share model whose coefficients differ from the
shipped defaults (it chases price drops, last week's chalk and the win favourite harder, and
start position a little) with per-driver-race noise, and keeps lineups spending $44,000-50,000,
as real players do. %Drafted is counted from those 3,000 lineups, so it is not the share model
exactly.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from nascar_pipeline.core import rules
from nascar_pipeline.core.ownership_features import FIELD_FEATURES, field_features

HERE = Path(__file__).resolve().parent
SEED = 20260705
N_DRIVERS = 36
N_RACES = 8
FIELD = 3000
KEEP_ENTRIES = 60
TRUE_FIELD = {
    "projection": 0.25,
    "value": 0.45,
    "salary": -0.05,
    "recent_dk_points": 0.25,
    "recent_finish": 0.0,
    "start_position": 0.15,
    "price_drop": 0.30,
    "win_odds": 0.15,
    "top5_odds": 0.0,
    "previous_ownership": 0.25,
}
FIRST = [
    "Alex",
    "Blake",
    "Casey",
    "Dale",
    "Evan",
    "Flynn",
    "Grant",
    "Hayden",
    "Ivan",
    "Jett",
    "Kurt",
    "Lane",
    "Mason",
    "Nolan",
    "Owen",
    "Parker",
    "Quinn",
    "Reid",
    "Sawyer",
    "Tate",
    "Uriel",
    "Vance",
    "Wade",
    "Xavier",
    "Yates",
    "Zane",
    "Brody",
    "Cole",
    "Dane",
    "Ellis",
    "Finn",
    "Gage",
    "Hank",
    "Ike",
    "Jace",
    "Knox",
]
LAST = [
    "Carver",
    "Holloway",
    "Pruitt",
    "Vance",
    "Whitaker",
    "Strand",
    "Maddox",
    "Kessler",
    "Ortega",
    "Bramlett",
    "Dorsey",
    "Fairbanks",
    "Gentry",
    "Hargrove",
    "Ingram",
    "Jessup",
    "Kilgore",
    "Lockhart",
    "Merritt",
    "Norwood",
    "Oakes",
    "Pennington",
    "Quarles",
    "Rhodes",
    "Sutter",
    "Tolliver",
    "Underwood",
    "Voss",
    "Wyatt",
    "Yoder",
    "Ziegler",
    "Ashby",
    "Blevins",
    "Crowder",
    "Dunaway",
    "Easley",
]


def race_result(rng, skill, start):
    """One race: finish order, laps led, fastest laps, DK points."""
    n = skill.size
    perf = skill + rng.normal(0, 1.1, n) - 0.01 * start
    finish = np.empty(n, dtype=int)
    finish[np.argsort(-perf)] = np.arange(1, n + 1)
    led = np.zeros(n, dtype=int)
    fast = np.zeros(n, dtype=int)
    top = np.argsort(finish)[:6]
    led[top] = rng.multinomial(250, rng.dirichlet(np.full(6, 0.7)))
    fast[top] = rng.multinomial(90, rng.dirichlet(np.full(6, 1.0)))
    pts = rules.draftkings_points(start, finish, led, fast)
    return finish, pts


def odds(rng, skill, start, sims=2000):
    n = skill.size
    perf = skill[None, :] + rng.normal(0, 1.1, (sims, n)) - 0.01 * start[None, :]
    rank = np.argsort(np.argsort(-perf, axis=1), axis=1) + 1
    return (rank == 1).mean(0), (rank <= 5).mean(0)


def draw_field(rng, share, salary):
    """FIELD lineups of six drawn by `share` (Gumbel top-6), spending $44,000-50,000."""
    logw = np.log(share)
    out = []
    while len(out) < FIELD:
        g = logw[None, :] + rng.gumbel(size=(4 * FIELD, share.size))
        picks = np.argsort(-g, axis=1)[:, :6]
        spend = salary[picks].sum(axis=1)
        out.extend(picks[(spend >= 44_000) & (spend <= 50_000)][: FIELD - len(out)])
    return np.array(out)


def main():
    rng = np.random.default_rng(SEED)
    names = [f"{f} {ln}" for f, ln in zip(FIRST, LAST)]
    ids = np.arange(9001, 9001 + N_DRIVERS)
    skill = np.sort(rng.normal(0, 1, N_DRIVERS))[::-1]
    salary = np.clip(np.round((7_600 + 1_800 * skill) / 100) * 100, 4_500, 11_500)
    # five races before the season for the first week's form
    past_pts, past_fin = [], []
    for _ in range(5):
        start = rng.permutation(N_DRIVERS) + 1
        fin, pts = race_result(rng, skill, start)
        past_pts.append(pts)
        past_fin.append(fin)
    slates, prev_own, prev_salary = [], None, None
    (HERE / "standings").mkdir(exist_ok=True)
    dates = pd.date_range("2026-03-01", periods=N_RACES, freq="7D")
    for r in range(N_RACES):
        key = f"2026-{dates[r]:%m-%d}__sample-speedway-{r + 1}"
        perf_now = skill + rng.normal(0, 0.35, N_DRIVERS)  # the week's car speed
        start = np.empty(N_DRIVERS, dtype=int)
        start[np.argsort(-(perf_now + rng.normal(0, 0.8, N_DRIVERS)))] = np.arange(1, N_DRIVERS + 1)
        win, top5 = odds(rng, perf_now, start)
        proj = np.clip(27 + 13 * perf_now + rng.normal(0, 3, N_DRIVERS), 8, None).round(2)
        recent_pts = np.mean(past_pts[-5:], axis=0)
        recent_fin = np.mean(past_fin[-5:], axis=0)
        slate = pd.DataFrame(
            {
                "race_key": key,
                "race_date": f"{dates[r]:%Y-%m-%d}",
                "driver_id": ids,
                "driver_name": names,
                "salary": salary.astype(int),
                "projection": proj,
                "start_position": start,
                "recent_dk_points": recent_pts.round(2),
                "recent_finish": recent_fin.round(2),
                "win_prob": win.round(4),
                "top5_prob": top5.round(4),
            }
        )
        feat = slate.copy()
        if prev_own is not None:
            feat["prev_salary"], feat["prev_own_pct"] = prev_salary, prev_own
        beta = np.array([TRUE_FIELD[f] for f in FIELD_FEATURES])
        eta = field_features(feat) @ beta + rng.normal(0, 0.2, N_DRIVERS)
        share = np.exp(eta - eta.max())
        lineups = draw_field(rng, share / share.sum(), salary)
        own = np.bincount(lineups.ravel(), minlength=N_DRIVERS) / FIELD * 100.0
        fin, pts = race_result(rng, perf_now, start)
        write_standings(HERE / "standings" / f"{key}.csv", rng, names, lineups, own, pts)
        slates.append(slate)
        past_pts.append(pts)
        past_fin.append(fin)
        prev_own, prev_salary = own, salary.copy()
        # DraftKings reprices by the recent form: about $300 per 10 points above the slate's mean
        move = np.round(3.0 * (np.mean(past_pts[-3:], axis=0) - proj) / 100) * 100
        salary = np.clip(salary + np.clip(move, -800, 800), 4_500, 11_500)
    pd.concat(slates).to_csv(HERE / "slates.csv", index=False)


def write_standings(path, rng, names, lineups, own, pts):
    score = pts[lineups].sum(axis=1)
    order = np.argsort(-score, kind="stable")[:KEEP_ENTRIES]
    players = np.argsort(-own, kind="stable")
    players = players[own[players] > 0]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "Rank",
                "EntryId",
                "EntryName",
                "TimeRemaining",
                "Points",
                "Lineup",
                "",
                "Player",
                "Roster Position",
                "%Drafted",
                "FPTS",
            ]
        )
        entry_ids = rng.choice(
            np.arange(4_100_000_000, 4_200_000_000), size=KEEP_ENTRIES, replace=False
        )
        for row in range(max(KEEP_ENTRIES, players.size)):
            left = ["", "", "", "", "", ""]
            if row < KEEP_ENTRIES:
                e = order[row]
                lineup = " ".join(f"D {names[d]}" for d in lineups[e])
                left = [
                    row + 1,
                    int(entry_ids[row]),
                    f"player{int(e) + 1} (1/1)",
                    0,
                    round(float(score[e]), 2),
                    lineup,
                ]
            right = []
            if row < players.size:
                d = players[row]
                right = ["", names[d], "D", f"{own[d]:.2f}%", round(float(pts[d]), 2)]
            w.writerow(left + right)


if __name__ == "__main__":
    main()
