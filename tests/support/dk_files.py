"""DraftKings files in DraftKings' own layouts, written for tests."""

from __future__ import annotations

import csv

DK_HEADER = [
    "Position",
    "Name + ID",
    "Name",
    "ID",
    "Roster Position",
    "Salary",
    "Game Info",
    "TeamAbbrev",
    "AvgPointsPerGame",
]


def write_dk_salaries(path, rows, header=DK_HEADER):
    """rows: (name, dk_id, salary) -> a DKSalaries.csv as DraftKings exports it."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for name, dk_id, salary in rows:
            rec = {
                "Position": "D",
                "Name + ID": f"{name} ({dk_id})",
                "Name": name,
                "ID": dk_id,
                "Roster Position": "D",
                "Salary": salary,
                "Game Info": "Toyota Owners 400 04/02/2023 03:30PM ET",
                "TeamAbbrev": "",
                "AvgPointsPerGame": "31.5",
            }
            w.writerow([rec.get(h, "") for h in header])
    return path


def write_dk_standings(path, players, n_entries=None):
    """players: (name, pct) -> a contest-standings export: entries left, player block right."""
    n = max(n_entries or 0, len(players) + 3)
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
        for i in range(n):
            left = [
                i + 1,
                3000000000 + i,
                f"user{i} (1/1)",
                0,
                250.5 - i,
                "D A D B D C D D D E D F",
            ]
            right = ["", players[i][0], "D", players[i][1], 40.25] if i < len(players) else []
            w.writerow(left + right)
    return path


CONTEST = {
    "contest_id": "dk-141234567",
    "site": "draftkings",
    "name": "NASCAR $50K Pit Road",
    "entry_fee": 5,
    "field_size": 11890,
    "max_entries": 150,
    "payouts": [
        {"min_place": 1, "max_place": 1, "prize": 5000},
        {"min_place": 2, "max_place": 2, "prize": 2500},
        {"min_place": 3, "max_place": 5, "prize": 1000},
        {"min_place": 6, "max_place": 2500, "prize": 10},
    ],
}
