"""DraftKings contest-standings export -> actual ownership (entries.dk_own_pct) for one race.

The export has the entries block on the left (Rank, EntryId, EntryName, TimeRemaining, Points,
Lineup) and, usually to its right after an empty column, a player block with the header
`Player,Roster Position,%Drafted,FPTS`, filled on the first rows only. The player block is found
by its header anywhere in the first line; `%Drafted` is "12.34%" (or a bare number) in 0..100.
Names are matched to known drivers as in salaries.py; unmatched names are listed in one error.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from nascar_pipeline.core.tables import OntologyTables, conform
from nascar_pipeline.ontology.parsers._common import Problems, parse_float, read_csv_rows
from nascar_pipeline.ontology.parsers.names import NameMatcher, name_key

BLOCK = ["Player", "Roster Position", "%Drafted", "FPTS"]


def parse_ownership(
    path: str | Path,
    race_key: str,
    known_drivers: pd.DataFrame,
    race_driver_ids: Iterable[int] = (),
) -> OntologyTables:
    rows = read_csv_rows(path)
    probs = Problems(path)
    header = [h.strip() for h in rows[0]]
    missing = [c for c in ("Player", "%Drafted") if c not in header]
    if missing:
        probs.fail(
            "line 1 (header)",
            f"missing column(s) {', '.join(missing)} of the player block {','.join(BLOCK)}",
        )
    ip, io = header.index("Player"), header.index("%Drafted")
    matcher = NameMatcher(known_drivers, race_driver_ids)
    out, unmatched, seen = [], [], {}
    for line, row in enumerate(rows[1:], start=2):
        player = row[ip].strip() if len(row) > ip else ""
        if not player:
            continue
        w = f"line {line}"
        if len(row) <= io:
            probs.add(f"{w}, field %Drafted", "missing value (truncated row)")
            continue
        pct = parse_float(row[io], probs, w, "%Drafted", minimum=0, maximum=100)
        key = name_key(player)
        if key in seen:
            probs.add(f"{w}, field Player", f"duplicate driver {player!r} (also line {seen[key]})")
            continue
        seen[key] = line
        did, why = matcher.match(player)
        if did is None:
            unmatched.append(f"{player!r} (line {line}{'' if why == 'unmatched' else ', ' + why})")
            continue
        out.append({"race_key": race_key, "driver_id": did, "dk_own_pct": pct})
    if not seen and not probs.items:
        probs.add("field Player", "no players in the player block")
    if unmatched:
        probs.add(
            "field Player",
            f"{len(unmatched)} name(s) match no known driver: " + "; ".join(unmatched),
        )
    probs.raise_if_any()
    return OntologyTables(entries=conform("entries", pd.DataFrame(out)))
