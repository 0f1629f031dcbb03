"""Checks the DraftKings and FanDuel salary files share: each name, player id and driver once,
salaries whole dollars up to the cap, every name matched (all unmatched names in one error)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from nascar_pipeline.ontology.parsers._common import CsvTable, Problems, parse_int
from nascar_pipeline.ontology.parsers.limits import MAX_LISTED
from nascar_pipeline.ontology.parsers.names import NameMatcher, name_key


def open_slate(
    path: str | Path,
    required: list[str],
    known_drivers: pd.DataFrame,
    race_driver_ids: Iterable[int],
    name_field: str,
    id_field: str,
) -> tuple[CsvTable, Problems, SlateChecks, NameMatcher]:
    """A salary file's rows (streamed: `raw.records()`), its problems, the checks and the name
    matcher. The caller checks that there was at least one row (`raw.rows_read`)."""
    raw = CsvTable(path, required)
    checks = SlateChecks(raw.probs, name_field, id_field)
    return raw, raw.probs, checks, NameMatcher(known_drivers, race_driver_ids)


class SlateChecks:
    def __init__(self, probs: Problems, name_field: str, id_field: str):
        self.probs, self.name_field, self.id_field = probs, name_field, id_field
        self._names: dict[str, int] = {}
        self._ids: dict = {}
        self._drivers: dict[int, int] = {}
        self._unmatched: list[tuple[str, int, str]] = []
        self._unmatched_count = 0

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
        self._unmatched_count += 1
        if len(self._unmatched) < MAX_LISTED:
            self._unmatched.append((name, line, why))

    def driver(self, driver_id: int, name: str, line: int) -> None:
        if driver_id in self._drivers:
            self.probs.add(
                f"line {line}, field {self.name_field}",
                f"{name!r} is the same driver ({driver_id}) as line {self._drivers[driver_id]}",
            )
        self._drivers.setdefault(driver_id, line)

    def report_unmatched(self, matcher: NameMatcher) -> None:
        report_unmatched(self.probs, self.name_field, self._unmatched, self._unmatched_count,
                         matcher)  # fmt: skip


def describe_unmatched(name: str, line: int, why: str, matcher: NameMatcher) -> str:
    """'Name' (line N[, ambiguous ...]; did you mean A (id), B (id)?)"""
    text = f"{name[:60]!r} (line {line}"
    if why != "unmatched":
        return text + f", {why})"
    close = matcher.suggest(name)
    return text + (f"; did you mean {', '.join(close)}?)" if close else ")")


def report_unmatched(
    probs: Problems, field: str, listed: list, count: int, matcher: NameMatcher
) -> None:
    """One problem for all unmatched names: the first few with suggestions, then a count, and
    how to map them (an aliases file)."""
    if not count:
        return
    shown = "; ".join(describe_unmatched(n, ln, why, matcher) for n, ln, why in listed)
    more = count - len(listed)
    probs.add(
        f"field {field}",
        f"{count} name(s) match no known driver: {shown}"
        + (f"; ... and {more} more" if more else "")
        + ". Map a name to its NASCAR driver id with an aliases file (name,driver_id): "
        "`nascar-pipeline ingest aliases FILE`, then ingest this file again",
    )
