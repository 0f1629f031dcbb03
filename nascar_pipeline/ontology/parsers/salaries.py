"""DraftKings salary export (DKSalaries.csv) for one race -> entries with salary and dk_id.

Columns: `Position,Name + ID,Name,ID,Roster Position,Salary,Game Info,TeamAbbrev,AvgPointsPerGame`;
`Name`, `ID` and `Salary` are required. Names are matched to known drivers with names.py
(case, accents, punctuation and Jr./Sr./II/III suffixes ignored; the race's entrants preferred
on ties). Checks: salary a positive whole number of dollars, at most the $50,000 cap; ID a
positive whole number; no driver (name or ID) twice; every name matched (all unmatched names
are listed in one error). The file is the race's whole slate: on ingest, entrants of the race
missing from it lose salary and dk_id (see writer.write_in_tx `slate_for`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from nascar_pipeline.core.rules import DRAFTKINGS
from nascar_pipeline.core.tables import OntologyTables, conform
from nascar_pipeline.ontology.parsers._common import parse_int
from nascar_pipeline.ontology.parsers._slate import open_slate

REQUIRED = ["Name", "ID", "Salary"]
SALARY_CAP = DRAFTKINGS.salary_cap


def parse_salaries(
    path: str | Path,
    race_key: str,
    known_drivers: pd.DataFrame,
    race_driver_ids: Iterable[int] = (),
) -> OntologyTables:
    raw, probs, checks, matcher = open_slate(
        path, REQUIRED, known_drivers, race_driver_ids, "Name", "ID"
    )
    rows = []
    for rec in raw.records():
        line = rec["_line"]
        w = f"line {line}"
        name = rec["Name"]
        if not name:
            probs.add(f"{w}, field Name", "missing value")
            continue
        checks.name(name, line)
        salary = checks.salary(rec["Salary"], line, SALARY_CAP)
        dk_id = parse_int(rec["ID"], probs, w, "ID", minimum=1)
        if dk_id is not None:
            checks.player_id(dk_id, line)
        roster = (rec.get("Roster Position") or "D").strip().upper()
        if roster not in ("D", ""):
            probs.add(
                f"{w}, field Roster Position",
                f"{roster!r}: only DraftKings NASCAR Classic slates (roster position D) "
                "are supported",
            )
        did, why = matcher.match(name)
        if did is None:
            checks.unmatched(name, line, why)
            continue
        checks.driver(did, name, line)
        rows.append({"race_key": race_key, "driver_id": did, "salary": salary, "dk_id": dk_id})
    if not raw.rows_read and not probs:
        probs.fail("line 2", "no players")
    checks.report_unmatched(matcher)
    probs.raise_if_any()
    return OntologyTables(entries=conform("entries", pd.DataFrame(rows)))
