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


# DraftKings' entries file ("Edit Entries" download), as DraftKings writes it: entries on the
# left, after one empty column its instructions and, some rows down, the slate's player list.
DK_ENTRIES_INSTRUCTIONS = [
    "1. Column A lists all of your contest entries for this draftgroup",
    "2. Your current lineup is listed next to each entry (blank for reservations)",
    "3. You can change the lineup for an entry by entering the IDs of the players in the row "
    "next to that entry",
    "4. Use data from the Name+ID column or the ID column; you cannot use just the player's name",
    "5. For faster processing only include entries you are changing in the file you upload",
]
DK_ENTRIES_COLUMNS = ["Entry ID", "Contest Name", "Contest ID", "Entry Fee"]
GAME_INFO = "Phoenix Raceway 03/09/2025 03:30PM ET"


def dk_player_rows(players, game_info=GAME_INFO):
    """players: (name, dk_id, salary[, avg points]) -> DK's player-list rows (DKSalaries.csv)."""
    rows = []
    for p in players:
        name, dk_id, salary = p[:3]
        avg = p[3] if len(p) > 3 else "25.0"
        rows.append(["D", f"{name} ({dk_id})", name, dk_id, "D", salary, game_info, "", avg])
    return rows


def dk_entries_text(entries, player_rows, newline="\r\n", bom=True, slots=6):
    """entries: (entry_id, contest name, contest id, fee, cells or None) -> DKEntries.csv text.

    Row 1: the entry columns, `slots` D columns, an empty column, Instructions. Rows 2..6 carry
    DK's five instructions in that column, row 7 is blank there, row 8 holds the player list's
    header and the players follow, sharing rows with entries when there are more than seven.
    """
    import io

    right = (
        [[t] for t in DK_ENTRIES_INSTRUCTIONS] + [[""], DK_HEADER] + [list(r) for r in player_rows]
    )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=newline)
    w.writerow([*DK_ENTRIES_COLUMNS, *["D"] * slots, "", "Instructions"])
    width = len(DK_ENTRIES_COLUMNS) + slots
    for i in range(max(len(entries), len(right))):
        if i < len(entries):
            eid, contest, cid, fee, cells = entries[i]
            left = [eid, contest, cid, fee, *(cells or [""] * slots)]
        else:
            left = [""] * width
        w.writerow(left + [""] + (right[i] if i < len(right) else []))
    return ("\ufeff" if bom else "") + buf.getvalue()


def read_dk_salaries_players(path):
    """(name, dk_id, salary, avg points) of a DKSalaries.csv, in file order."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return [
            (r["Name"], r["ID"], r["Salary"], r["AvgPointsPerGame"]) for r in csv.DictReader(fh)
        ]


# The sample tests/data/ingest/DKEntries.csv: a multi-entry GPP and a single-entry contest of
# the slate of tests/data/ingest/DKSalaries.csv, every entry a reservation (blank roster).
SAMPLE_ENTRIES_CONTESTS = [
    ("NASCAR $100K Pit Stop [$20K to 1st]", "180001234", "$5", 3),
    ("NASCAR $25K Slingshot [Single Entry, $5K to 1st]", "180005678", "$3", 1),
]


def sample_dk_entries_text(dk_salaries_path):
    """The sample DKEntries.csv for a DKSalaries.csv (BOM, CRLF, as DraftKings writes it)."""
    entries, entry_id = [], 4_700_000_001
    for name, cid, fee, n in SAMPLE_ENTRIES_CONTESTS:
        for _ in range(n):
            entries.append((str(entry_id), name, cid, fee, None))
            entry_id += 1
    players = read_dk_salaries_players(dk_salaries_path)
    game_info = _game_info(dk_salaries_path)
    return dk_entries_text(entries, dk_player_rows(players, game_info))


def _game_info(path):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return next(csv.DictReader(fh))["Game Info"]
