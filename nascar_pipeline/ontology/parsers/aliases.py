"""Aliases file (CSV `name,driver_id`) -> extra spellings of known drivers.

For a DraftKings / FanDuel / standings name that matches no driver ("did you mean ..."): each
row says which NASCAR driver id the name means. The name is stored in `Driver.aliases`, which
salary and ownership matching use, so ingesting the salary file again succeeds. Checks: the
driver id is in the graph; the name does not already mean another driver (that would make it
ambiguous); a name appears once (or always with the same id)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nascar_pipeline.ontology.parsers import limits
from nascar_pipeline.ontology.parsers._common import CsvTable, parse_int, parse_text
from nascar_pipeline.ontology.parsers.names import NameMatcher, name_key
from nascar_pipeline.ontology.parsers.spellings import AliasTables

REQUIRED = ["name", "driver_id"]


def alias_rows(pairs, known_drivers: pd.DataFrame, probs) -> pd.DataFrame:
    """Check (name, driver_id, where) triples against the known drivers; the alias table."""
    known = {int(d) for d in known_drivers["driver_id"].dropna()}
    matcher = NameMatcher(known_drivers)
    rows, seen = {}, {}
    for name, did, where in pairs:
        if name is None or did is None:
            continue
        if did not in known:
            probs.add(f"{where}, field driver_id", f"driver {did} is not in the graph")
            continue
        current = matcher.by_key.get(name_key(name), set())
        others = current - {did}
        if others:
            probs.add(
                f"{where}, field name",
                f"{name[:60]!r} already names driver(s) {', '.join(map(str, sorted(others)))}",
            )
            continue
        key = name_key(name)
        if key in seen and seen[key][0] != did:
            probs.add(
                f"{where}, field name",
                f"{name[:60]!r} is driver {seen[key][0]} at {seen[key][1]} but {did} here",
            )
            continue
        seen.setdefault(key, (did, where))
        rows[(name, did)] = None
    return pd.DataFrame(
        {
            "driver_id": pd.Series([d for _, d in rows], dtype="Int64"),
            "alias": pd.Series([n for n, _ in rows], dtype="string"),
        }
    )


def parse_aliases(path: str | Path, known_drivers: pd.DataFrame) -> AliasTables:
    table = CsvTable(path, REQUIRED)
    probs = table.probs

    def pairs():
        for rec in table.records():
            w = f"line {rec['_line']}"
            name = parse_text(rec["name"], probs, w, "name")
            did = parse_int(rec["driver_id"], probs, w, "driver_id", minimum=limits.ID[0])
            yield name, did, w

    aliases = alias_rows(pairs(), known_drivers, probs)
    if not table.rows_read and not probs:
        probs.fail("line 2", "no aliases")
    probs.raise_if_any()
    return AliasTables(aliases=aliases)
