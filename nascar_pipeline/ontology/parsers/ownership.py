"""DraftKings contest-standings export -> actual ownership (entries.dk_own_pct) for one race.

The export has the entries block on the left (Rank, EntryId, EntryName, TimeRemaining, Points,
Lineup) and, usually to its right after an empty column, a player block with the header
`Player,Roster Position,%Drafted,FPTS`, filled on the first rows only. The player block is found
by its header anywhere in the first line; `%Drafted` is "12.34%" (or a bare number) in 0..100.
Names are matched to known drivers as in salaries.py; unmatched names are listed in one error.
When the entries block is there (`Rank` and `Points` columns), the contest's winning score and
cash line come from it (standings_facts.py) as a contests row.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from nascar_pipeline.core.tables import OntologyTables, conform
from nascar_pipeline.ontology.parsers import limits
from nascar_pipeline.ontology.parsers._common import (
    Problems,
    iter_csv_rows,
    parse_float,
    parse_int,
)
from nascar_pipeline.ontology.parsers._slate import report_unmatched
from nascar_pipeline.ontology.parsers.contest import LINEUP_POINTS
from nascar_pipeline.ontology.parsers.names import NameMatcher, name_key
from nascar_pipeline.ontology.parsers.standings_facts import contest_facts

BLOCK = ["Player", "Roster Position", "%Drafted", "FPTS"]


def parse_ownership(
    path: str | Path,
    race_key: str,
    known_drivers: pd.DataFrame,
    race_driver_ids: Iterable[int] = (),
    contests: pd.DataFrame | None = None,
) -> OntologyTables:
    """contests: the race's contests as stored (contest_id, site, field_size, payouts), to put
    the standings' winning score and cash line on."""
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
    has_entries = "Rank" in header and "Points" in header
    ir, ipt = (header.index("Rank"), header.index("Points")) if has_entries else (0, 0)
    ranks: list[int] = []
    points: list[float] = []
    for line, row in rows:
        if has_entries and len(row) > ir and row[ir].strip():
            w = f"line {line}"
            rank = parse_int(row[ir], probs, w, "Rank", minimum=1, maximum=limits.FIELD_SIZE[1])
            pts = parse_float(
                row[ipt] if len(row) > ipt else "",
                probs,
                w,
                "Points",
                minimum=LINEUP_POINTS[0],
                maximum=LINEUP_POINTS[1],
            )
            if rank is not None and pts is not None:
                ranks.append(rank)
                points.append(pts)
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
    facts = contest_facts(path, race_key, ranks, points, contests)
    return OntologyTables(
        entries=conform("entries", pd.DataFrame(out)),
        contests=conform("contests", pd.DataFrame(facts)),
    )
