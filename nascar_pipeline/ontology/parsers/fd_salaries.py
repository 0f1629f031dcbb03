"""FanDuel player-list export (the "Download players list" CSV of a slate) for one race ->
entries with fd_salary and fd_id.

Columns as FanDuel exports them: `Id,Position,First Name,Nickname,Last Name,FPPG,Played,Salary,
Game,Team,Opponent,Injury Indicator,Injury Details,Tier,,,Roster Position` (newer exports add
empty columns and `Roster Position`, older ones stop at `Injury Details`); `Id`, `First Name`,
`Last Name` and `Salary` are required. `Id` is FanDuel's player id `<slate>-<player>`
(e.g. `123456-78901`), the value FanDuel's lineup upload takes. The driver's name is
`Nickname` (FanDuel's display name) when given, else `First Name Last Name`; names are matched
to known drivers with names.py exactly as the DraftKings parser does (case, accents,
punctuation and Jr./Sr./II/III suffixes ignored; the race's entrants preferred on ties).

Checks (all problems of the file are reported together, nothing is written on any): salary a
positive whole number of dollars, at most FanDuel's $50,000 cap; Id of the form
`<digits>-<digits>`, every Id of the same slate; no driver twice (by name, Id or matched
driver); every name matched (all unmatched names listed in one error). The race key is checked
against the graph by the ingest command. The file is the race's whole FanDuel slate: on
ingest, entrants of the race missing from it lose fd_salary and fd_id (writer `slate_site`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from nascar_pipeline.core.rules import FANDUEL
from nascar_pipeline.core.tables import OntologyTables, conform
from nascar_pipeline.ontology.parsers._slate import open_slate
from nascar_pipeline.ontology.parsers.names import name_key

REQUIRED = ["Id", "First Name", "Last Name", "Salary"]
SALARY_CAP = FANDUEL.salary_cap
FD_ID_RE = re.compile(r"^(\d+)-(\d+)$")


def _name(rec: dict) -> str:
    nick = (rec.get("Nickname") or "").strip()
    if nick:
        return nick
    return " ".join(
        p
        for p in ((rec.get("First Name") or "").strip(), (rec.get("Last Name") or "").strip())
        if p
    )


def parse_fd_salaries(
    path: str | Path,
    race_key: str,
    known_drivers: pd.DataFrame,
    race_driver_ids: Iterable[int] = (),
) -> OntologyTables:
    raw, probs, checks, matcher = open_slate(
        path, REQUIRED, known_drivers, race_driver_ids, "Nickname", "Id"
    )
    rows = []
    slates: dict[str, int] = {}
    # newer exports have unnamed (empty) header cells: keep one column per name
    for rec in raw.records():
        line = rec["_line"]
        w = f"line {line}"
        name = _name(rec)
        if not name:
            probs.add(f"{w}, field Nickname", "missing value (and no First Name / Last Name)")
            continue
        checks.name(name, line)
        salary = checks.salary(rec["Salary"], line, SALARY_CAP)
        fd_id = rec["Id"]
        m = FD_ID_RE.match(fd_id)
        if not fd_id:
            probs.add(f"{w}, field Id", "missing value")
            fd_id = None
        elif not m:
            probs.add(
                f"{w}, field Id",
                f"{fd_id!r} is not a FanDuel player id (<slate>-<player>, e.g. 123456-78901)",
            )
            fd_id = None
        else:
            slates.setdefault(m.group(1), line)
            checks.player_id(fd_id, line)
        did, why = matcher.match(name)
        if did is None and rec.get("Nickname"):
            first_last = f"{rec.get('First Name', '')} {rec.get('Last Name', '')}".strip()
            if first_last and name_key(first_last) != name_key(name):
                did, _ = matcher.match(first_last)
        if did is None:
            checks.unmatched(name, line, why)
            continue
        checks.driver(did, name, line)
        rows.append({"race_key": race_key, "driver_id": did, "fd_salary": salary, "fd_id": fd_id})
    if len(slates) > 1:
        probs.add(
            "field Id",
            "ids of more than one FanDuel slate: "
            + ", ".join(f"{s} (line {ln})" for s, ln in list(slates.items())[:5])
            + " (export the player list of one slate)",
        )
    if not raw.rows_read and not probs:
        probs.fail("line 2", "no players")
    checks.report_unmatched(matcher)
    probs.raise_if_any()
    return OntologyTables(entries=conform("entries", pd.DataFrame(rows)))
