"""The ownership samples in tests/data/ownership (DraftKings contest standings in DraftKings'
layout plus the slates they belong to), read the way the pipeline reads them: %Drafted through
the `ingest ownership` parser, each driver's price and ownership at the previous race joined on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nascar_pipeline.ontology.parsers.ownership import parse_ownership

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "ownership"


def sample_races() -> list[tuple[pd.DataFrame, np.ndarray]]:
    """(slate, %Drafted per slate driver) per sample race, in date order."""
    slates = pd.read_csv(SAMPLES / "slates.csv")
    known = slates[["driver_id", "driver_name"]].drop_duplicates()
    known = known.rename(columns={"driver_name": "name"})
    out, prev = [], None
    for key, g in slates.groupby("race_key", sort=True):
        g = g.reset_index(drop=True)
        entries = parse_ownership(SAMPLES / "standings" / f"{key}.csv", key, known).entries
        drafted = entries.set_index("driver_id")["dk_own_pct"].astype(float)
        # a driver missing from the player block was drafted by nobody
        own = g["driver_id"].map(drafted).fillna(0.0).to_numpy(float)
        if prev is not None:
            p = prev.set_index("driver_id")
            g["prev_salary"] = g["driver_id"].map(p["salary"])
            g["prev_own_pct"] = g["driver_id"].map(p["own"])
        out.append((g, own))
        prev = g.assign(own=own)
    return out
