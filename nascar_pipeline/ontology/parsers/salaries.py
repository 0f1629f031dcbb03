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
from nascar_pipeline.ontology.parsers._common import Problems, parse_int, read_csv_table
from nascar_pipeline.ontology.parsers.names import NameMatcher, name_key

REQUIRED = ["Name", "ID", "Salary"]
SALARY_CAP = DRAFTKINGS.salary_cap


def parse_salaries(
    path: str | Path,
    race_key: str,
    known_drivers: pd.DataFrame,
    race_driver_ids: Iterable[int] = (),
) -> OntologyTables:
    raw = read_csv_table(path, REQUIRED)
    probs = Problems(path)
    if raw.empty:
        probs.fail("line 2", "no players")
    matcher = NameMatcher(known_drivers, race_driver_ids)
    rows, unmatched = [], []
    by_name: dict[str, int] = {}
    by_id: dict[int, int] = {}
    by_driver: dict[int, int] = {}
    for rec in raw.to_dict("records"):
        line = rec["_line"]
        w = f"line {line}"
        name = rec["Name"]
        if not name:
            probs.add(f"{w}, field Name", "missing value")
            continue
        key = name_key(name)
        if key in by_name:
            probs.add(f"{w}, field Name", f"duplicate driver {name!r} (also line {by_name[key]})")
        by_name.setdefault(key, line)
        salary_text = rec["Salary"].replace(",", "").lstrip("$")
        salary = parse_int(
            salary_text if salary_text else rec["Salary"],
            probs,
            w,
            "Salary",
            minimum=1,
            maximum=SALARY_CAP,
        )
        dk_id = parse_int(rec["ID"], probs, w, "ID", minimum=1)
        if dk_id is not None:
            if dk_id in by_id:
                probs.add(f"{w}, field ID", f"duplicate ID {dk_id} (also line {by_id[dk_id]})")
            by_id.setdefault(dk_id, line)
        roster = (rec.get("Roster Position") or "D").strip().upper()
        if roster not in ("D", ""):
            probs.add(
                f"{w}, field Roster Position",
                f"{roster!r}: only DraftKings NASCAR Classic slates (roster position D) "
                "are supported",
            )
        did, why = matcher.match(name)
        if did is None:
            unmatched.append(f"{name!r} (line {line}{'' if why == 'unmatched' else ', ' + why})")
            continue
        if did in by_driver:
            probs.add(
                f"{w}, field Name", f"{name!r} is the same driver ({did}) as line {by_driver[did]}"
            )
        by_driver.setdefault(did, line)
        rows.append({"race_key": race_key, "driver_id": did, "salary": salary, "dk_id": dk_id})
    if unmatched:
        probs.add(
            "field Name", f"{len(unmatched)} name(s) match no known driver: " + "; ".join(unmatched)
        )
    probs.raise_if_any()
    return OntologyTables(entries=conform("entries", pd.DataFrame(rows)))
