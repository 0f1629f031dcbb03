"""Driver spellings: a driver is NASCAR's driver id, and NASCAR respells names across years and
sources ('Daniel Suarez' / 'Daniel Suárez', 'Ricky Stenhouse Jr.' / 'Ricky Stenhouse Jr').

Parsers that read names with race dates (history, weekend feed) return `SpelledTables`: the
usual tables plus `spellings` (driver_id, name, race_date: the latest race date of that
spelling in the file). The drivers table holds each driver's latest spelling; the writer keeps
the latest one (by race date, across files) as `Driver.name` and every other spelling in
`Driver.aliases`, which salary and ownership matching also use."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from nascar_pipeline.core.tables import OntologyTables

SPELLINGS_COLUMNS = {"driver_id": "Int64", "name": "string", "race_date": "string"}


def empty_spellings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in SPELLINGS_COLUMNS.items()})


@dataclass
class SpelledTables(OntologyTables):
    """OntologyTables plus the file's driver spellings (see the module docstring)."""

    spellings: pd.DataFrame = field(default_factory=empty_spellings)


class Spellings:
    """Collects (driver id, name, race date) while a file is read; one entry per spelling."""

    def __init__(self):
        self.latest: dict[tuple[int, str], str] = {}  # (driver, name) -> latest race date

    def add(self, driver_id: int | None, name: str | None, race_date: str | None) -> None:
        if driver_id is None or not name:
            return
        key = (driver_id, name)
        date = race_date or ""
        if date >= self.latest.get(key, ""):
            self.latest[key] = date

    def table(self) -> pd.DataFrame:
        if not self.latest:
            return empty_spellings()
        df = pd.DataFrame(
            [(d, n, t or None) for (d, n), t in self.latest.items()],
            columns=list(SPELLINGS_COLUMNS),
        )
        return df.astype(SPELLINGS_COLUMNS)

    def drivers(self) -> pd.DataFrame:
        """(driver_id, name): each driver's spelling of its latest race date (ties: the
        spelling read last)."""
        best: dict[int, tuple[str, str]] = {}
        for (did, name), date in self.latest.items():
            if did not in best or date >= best[did][0]:
                best[did] = (date, name)
        return pd.DataFrame({"driver_id": list(best), "name": [n for _, n in best.values()]})


@dataclass
class AliasTables(OntologyTables):
    """An aliases file: `aliases` (driver_id, alias) adds spellings to known drivers."""

    aliases: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            {"driver_id": pd.Series(dtype="Int64"), "alias": pd.Series(dtype="string")}
        )
    )
