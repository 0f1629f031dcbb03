"""NASCAR season schedule (race_list_basic.json) -> races (status `scheduled`).

Which races: the Cup Series (the `series_1` list; a plain list is filtered on series_id 1) and
only its points races, `race_type_id == 1`: exhibitions (Clash, Duels, All-Star Open and Race,
race_type_id 2) are left out because they are not DFS main slates and history holds points races
only. Dates: `date_scheduled` is local US Eastern time: race_date is its day, lock_time its UTC
instant (DraftKings locks at the green flag). Track type/length from parsers/tracks.py. Races the
graph already holds (same race_id) keep their key and their `final` status (see the writer).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nascar_pipeline.core.tables import OntologyTables, conform
from nascar_pipeline.ontology.parsers import limits
from nascar_pipeline.ontology.parsers._common import (
    Problems,
    assign_race_keys,
    json_objects,
    parse_int,
    read_json,
)
from nascar_pipeline.ontology.parsers._feed_race import feed_race_fields

POINTS_RACE_TYPE = 1


def parse_schedule(path: str | Path) -> OntologyTables:
    data = read_json(path)
    probs = Problems(path)
    if isinstance(data, dict):
        if not isinstance(data.get("series_1"), list):
            probs.fail("field series_1", "missing: expected the Cup Series list of races")
        items, prefix = data["series_1"], "series_1"
    elif isinstance(data, list):
        items, prefix = [r for r in data if isinstance(r, dict) and r.get("series_id") == 1], ""
    else:
        probs.fail("top level", "expected an object with series_1 or a list of races")
    rows = []
    for w, r in json_objects(items, probs, f"field {prefix}"):
        rtype = parse_int(
            r.get("race_type_id"),
            probs,
            w,
            "race_type_id",
            minimum=limits.RACE_TYPE[0],
            maximum=limits.RACE_TYPE[1],
        )
        if rtype != POINTS_RACE_TYPE:
            continue
        rows.append(
            {
                **feed_race_fields(r, probs, w),
                "status": "scheduled",
                "_w": w,
            }
        )
    probs.raise_if_any()
    if not rows:
        probs.fail(f"field {prefix}", "no Cup points races (race_type_id 1)")
    races = pd.DataFrame(rows)
    dup = races["race_id"].duplicated()
    if dup.any():
        probs.fail(races["_w"][dup].iloc[0], f"race {races['race_id'][dup].iloc[0]} repeats")
    races["race_key"] = assign_race_keys(races)
    return OntologyTables(races=conform("races", races))
