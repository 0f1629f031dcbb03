"""Checks the DraftKings and FanDuel salary files share: each name, player id and driver once,
salaries whole dollars up to the cap, every name matched (all unmatched names in one error)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from nascar_pipeline.ontology.parsers._common import Problems, parse_int, read_csv_table
from nascar_pipeline.ontology.parsers.names import NameMatcher, name_key


def open_slate(
    path: str | Path,
    required: list[str],
    known_drivers: pd.DataFrame,
    race_driver_ids: Iterable[int],
    name_field: str,
    id_field: str,
) -> tuple[pd.DataFrame, Problems, SlateChecks, NameMatcher]:
    """A salary file's rows (at least one), its problems, the checks and the name matcher."""
    raw = read_csv_table(path, required)
    probs = Problems(path)
    if raw.empty:
        probs.fail("line 2", "no players")
    checks = SlateChecks(probs, name_field, id_field)
    return raw, probs, checks, NameMatcher(known_drivers, race_driver_ids)


class SlateChecks:
    def __init__(self, probs: Problems, name_field: str, id_field: str):
        self.probs, self.name_field, self.id_field = probs, name_field, id_field
        self._names: dict[str, int] = {}
        self._ids: dict = {}
        self._drivers: dict[int, int] = {}
        self._unmatched: list[str] = []

    def name(self, name: str, line: int) -> None:
        key = name_key(name)
        if key in self._names:
            self.probs.add(
                f"line {line}, field {self.name_field}",
                f"duplicate driver {name!r} (also line {self._names[key]})",
            )
        self._names.setdefault(key, line)

    def salary(self, text: str, line: int, cap: int) -> int | None:
        plain = text.replace(",", "").lstrip("$")
        return parse_int(
            plain or text, self.probs, f"line {line}", "Salary", minimum=1, maximum=cap
        )

    def player_id(self, player_id, line: int) -> None:
        if player_id in self._ids:
            self.probs.add(
                f"line {line}, field {self.id_field}",
                f"duplicate {self.id_field} {player_id} (also line {self._ids[player_id]})",
            )
        self._ids.setdefault(player_id, line)

    def unmatched(self, name: str, line: int, why: str) -> None:
        self._unmatched.append(f"{name!r} (line {line}{'' if why == 'unmatched' else ', ' + why})")

    def driver(self, driver_id: int, name: str, line: int) -> None:
        if driver_id in self._drivers:
            self.probs.add(
                f"line {line}, field {self.name_field}",
                f"{name!r} is the same driver ({driver_id}) as line {self._drivers[driver_id]}",
            )
        self._drivers.setdefault(driver_id, line)

    def report_unmatched(self) -> None:
        if self._unmatched:
            self.probs.add(
                f"field {self.name_field}",
                f"{len(self._unmatched)} name(s) match no known driver: "
                + "; ".join(self._unmatched),
            )
