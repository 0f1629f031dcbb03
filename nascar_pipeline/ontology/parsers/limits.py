"""Input limits and the domain range of every numeric field the parsers read.

Fixed constants on purpose (no settings): an input beyond them is a broken or hostile file, and
the message says which limit it crossed. Every integer field has a range, so nothing beyond
int64 ever reaches pandas or Neo4j (an id of 10**30 is a clear "above" error, not an
OverflowError)."""

from __future__ import annotations

MAX_FILE_BYTES = 64 * 1024 * 1024  # 64 MiB: ~50x the largest real history file
MAX_JSON_DEPTH = 64  # NASCAR's feeds nest 4 deep
MAX_CSV_CELL = 64 * 1024  # characters in one CSV cell
MAX_LISTED = 8  # problems / warnings / unmatched names shown in one message

ID = (1, 2**31 - 1)  # NASCAR race and driver ids, DraftKings player ids
SEASON = (1900, 2200)
POSITION = (1, 100)  # start and finish positions (a field is at most ~45 cars)
GRID_POSITION = (0, 100)  # feeds write 0 for "not qualified yet"
LAPS = (0, 2000)  # laps completed / led / fastest, actual laps
RACE_LAPS = (1, 2000)  # laps of a race
SALARY = (1, 100_000)  # dollars (the sites' caps are lower: checked where known)
RACE_TYPE = (0, 100)
FIELD_SIZE = (1, 10_000_000)  # contest entries
ENTRY_FEE = (0, 100_000)  # dollars
PRIZE = (0, 100_000_000)  # dollars
PERCENT = (0, 100)
TRACK_LENGTH = (0.1, 10)  # miles
