"""Is a race's slate complete? The parts a race run needs, read from the race's inputs.

A slate is complete when the entry list is in, every entry has a DraftKings salary, a contest is
attached and every entry has a starting position (the grid, after qualifying). race_sensor runs
a complete slate at once and an incomplete one only after its quiet period (sensors.py).
"""

from __future__ import annotations

from nascar_pipeline.core.tables import RaceInputs

SLATE_PARTS = ("entries", "salaries", "contest", "grid")


def missing_parts(inputs: RaceInputs) -> list[str]:
    """The parts of SLATE_PARTS the race's inputs lack, in that order (empty: complete)."""
    entries = inputs.entries
    if entries is None or entries.empty:
        return list(SLATE_PARTS)
    missing = []
    if "salary" not in entries or entries["salary"].isna().any():
        missing.append("salaries")
    if inputs.contests is None or inputs.contests.empty:
        missing.append("contest")
    if "start_position" not in entries or entries["start_position"].isna().any():
        missing.append("grid")
    return missing
