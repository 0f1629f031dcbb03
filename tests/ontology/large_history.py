"""A generated, valid history (races.csv + results.csv) of any size, for the large-import and
large-file tests: 40 cars a race, a race a day from 1950, season == the race date's year."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

RACES_HEADER = ["race_id", "season", "race_date", "race_name", "track_name", "laps"]
RESULTS_HEADER = [
    "race_id",
    "driver_id",
    "driver_name",
    "car_number",
    "team",
    "manufacturer",
    "start_position",
    "finish_position",
    "laps_completed",
    "laps_led",
    "fastest_laps",
    "status",
]
TRACKS = ["Daytona International Speedway", "Phoenix Raceway", "Sonoma Raceway", "Kansas Speedway"]


def write_large_history(folder: Path, n_rows: int, cars: int = 40) -> tuple[Path, Path]:
    """Write races.csv and results.csv with `n_rows` result rows (n_rows // cars races)."""
    folder.mkdir(parents=True, exist_ok=True)
    races_csv, results_csv = folder / "races.csv", folder / "results.csv"
    n_races = max(1, n_rows // cars)
    start = dt.date(1950, 1, 1)
    with (
        open(races_csv, "w", newline="", encoding="utf-8") as rf,
        open(results_csv, "w", newline="", encoding="utf-8") as sf,
    ):
        races, results = csv.writer(rf), csv.writer(sf)
        races.writerow(RACES_HEADER)
        results.writerow(RESULTS_HEADER)
        for r in range(n_races):
            day = start + dt.timedelta(days=r)
            rid = 100_000 + r
            races.writerow([rid, day.year, day.isoformat(), f"Race {r}", TRACKS[r % 4], 200])
            for c in range(cars):
                pos = (c + r) % cars + 1
                results.writerow(
                    [
                        rid,
                        5000 + c,
                        f"Driver {c}",
                        str(c + 1),
                        f"Team {c % 10}",
                        "Chevrolet",
                        c + 1,
                        pos,
                        200 if pos < 35 else 150,
                        (cars - pos) % 7,
                        pos % 5,
                        "running" if pos < 35 else "accident",
                    ]
                )
    return races_csv, results_csv
