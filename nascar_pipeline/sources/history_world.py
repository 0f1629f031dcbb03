"""An embedded world built from real history files instead of the synthetic generator, so the
whole pipeline (sensors, backfills, the model with loop data) runs on real races with no Neo4j:
`nascar-pipeline seed-demo --from-history DIR`.

DIR holds races.csv and results.csv (the history layout `nascar-pipeline ingest history` reads)
and, optionally, loopstats.csv (`ingest loopdata`'s layouts). Every file goes through the same
parsers and checks as the ingest, the loop rows' checks against the races included (the ones
`ingest loopdata` makes against the graph: parsers/loopdata.key_loop_rows), so a bad row is
reported the same way and nothing is written.
The files carry no DraftKings salaries or contests: races from them materialize the snapshot and
the model (race_snapshot, race_model_fit, race_scenarios, driver_projections), not lineups.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nascar_pipeline.core.tables import OntologyTables, conform
from nascar_pipeline.errors import UserInputError

LOOP_CSV = "loopstats.csv"


def world_from_history(folder: str | Path) -> OntologyTables:
    """OntologyTables of every race in DIR's history files, with loop data where DIR has it
    (Cup rows keyed to the history's races by NASCAR race id; lower-series rows kept as they
    are, the evidence for drivers with little Cup history)."""
    from nascar_pipeline.ontology.parsers.history import parse_history
    from nascar_pipeline.ontology.parsers.loopdata import key_loop_rows, parse_loopdata

    folder = Path(folder)
    paths = [folder / "races.csv", folder / "results.csv"]
    for path in paths:
        if not path.is_file():
            raise UserInputError(f"file {path}: not found (expected the history's {path.name})")
    tables = parse_history(*paths)
    loop = conform("loop_stats", pd.DataFrame())
    drivers = tables.drivers
    if (folder / LOOP_CSV).is_file():
        parsed = parse_loopdata(folder / LOOP_CSV)
        starters = tables.results.groupby("race_key").size()
        races = {
            int(r.race_id): {
                "race_key": r.race_key,
                "race_date": r.race_date,
                "track_name": r.track_name,
                "starters": int(starters.get(r.race_key, 0)),
            }
            for r in tables.races.itertuples()
        }
        known = set(drivers["driver_id"].astype(int))
        keyed = key_loop_rows(parsed, races, str(folder / LOOP_CSV), known, paths[0].name)
        loop = keyed.loop_stats
        # lower-series drivers never in a Cup race: the ontology knows them by their loop rows
        extra = parsed.drivers[~parsed.drivers["driver_id"].isin(drivers["driver_id"])]
        drivers = pd.concat([drivers, extra], ignore_index=True)
    return OntologyTables(
        races=tables.races,
        drivers=drivers,
        entries=tables.entries,
        results=tables.results,
        loop_stats=loop,
    ).conformed()
