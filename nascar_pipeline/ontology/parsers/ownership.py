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
from nascar_pipeline.ontology.parsers import limits
from nascar_pipeline.ontology.parsers._common import Problems, iter_csv_rows, parse_float
from nascar_pipeline.ontology.parsers._slate import report_unmatched
from nascar_pipeline.ontology.parsers.names import NameMatcher, name_key

BLOCK = ["Player", "Roster Position", "%Drafted", "FPTS"]


def parse_ownership(
    path: str | Path,
    race_key: str,
    known_drivers: pd.DataFrame,
    race_driver_ids: Iterable[int] = (),
) -> OntologyTables:
    rows = iter_csv_rows(path)
    probs = Problems(path)
    first = next(rows, None)
    if first is None or not any(c.strip() for c in first[1]):
        probs.fail("line 1", "empty file, expected a CSV header line")
    header = [h.strip() for h in first[1]]
    missing = [c for c in ("Player", "%Drafted") if c not in header]
    if missing:
        probs.fail(
            "line 1 (header)",
            f"missing column(s) {', '.join(missing)} of the player block {','.join(BLOCK)}",
        )
    ip, io = header.index("Player"), header.index("%Drafted")
    matcher = NameMatcher(known_drivers, race_driver_ids)
    out, seen = [], {}
    unmatched: list[tuple[str, int, str]] = []
    n_unmatched = 0
    for line, row in rows:
        player = row[ip].strip() if len(row) > ip else ""
        if not player:
            continue
        w = f"line {line}"
        if len(row) <= io:
            probs.add(f"{w}, field %Drafted", "missing value (truncated row)")
            continue
        pct = parse_float(
            row[io], probs, w, "%Drafted", minimum=limits.PERCENT[0], maximum=limits.PERCENT[1]
        )
        key = name_key(player)
        if key in seen:
            probs.add(
                f"{w}, field Player", f"duplicate driver {player[:60]!r} (also line {seen[key]})"
            )
            continue
        seen[key] = line
        did, why = matcher.match(player)
        if did is None:
            n_unmatched += 1
            if len(unmatched) < limits.MAX_LISTED:
                unmatched.append((player, line, why))
            continue
        out.append({"race_key": race_key, "driver_id": did, "dk_own_pct": pct})
    if not seen and not probs:
        probs.add("field Player", "no players in the player block")
    report_unmatched(probs, "Player", unmatched, n_unmatched, matcher)
    probs.raise_if_any()
    return OntologyTables(entries=conform("entries", pd.DataFrame(out)))
