"""The embedded world on disk: one Parquet file per ontology table in a folder, and the
RaceSource that serves races from it (no Neo4j, S3 or Postgres needed).

Layout: `<folder>/{races,drivers,entries,results,contests}.parquet`, and `loop_stats.parquet`
where the world has loop data (a world built from real history: `seed-demo --from-history`;
the synthetic demo world has none). Each file is written by the one atomic writer
(storage/atomic.py), so a reader never sees half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from nascar_pipeline.core.race_inputs import assemble_race_inputs, list_races
from nascar_pipeline.core.tables import (
    ALL_COLUMNS,
    TABLE_COLUMNS,
    OntologyTables,
    RaceInputs,
    conform,
)
from nascar_pipeline.errors import UserInputError
from nascar_pipeline.storage.atomic import write_bytes_atomic

SEED_HINT = "run `nascar-pipeline seed-demo` first"
LOOP_FILE = "loop_stats.parquet"  # optional: only worlds with loop data have it


def world_exists(folder: str | os.PathLike) -> bool:
    f = Path(folder)
    return all((f / f"{name}.parquet").is_file() for name in TABLE_COLUMNS)


def write_world(tables: OntologyTables, folder: str | os.PathLike) -> Path:
    """Write each table to `<folder>/<table>.parquet` atomically."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    t = tables.conformed()
    # The last world's loop rows go first: a write stopped half-way must not leave them beside
    # new tables (a synthetic world's race keys can be real ones: seed 7 has a 2024 Daytona 500).
    (out / LOOP_FILE).unlink(missing_ok=True)
    for name in TABLE_COLUMNS:
        write_bytes_atomic(out / f"{name}.parquet", getattr(t, name).to_parquet(index=False))
    if len(t.loop_stats):
        write_bytes_atomic(out / LOOP_FILE, t.loop_stats.to_parquet(index=False))
    return out


def load_world(folder: str | os.PathLike) -> OntologyTables:
    f = Path(folder)
    missing = [n for n in TABLE_COLUMNS if not (f / f"{n}.parquet").is_file()]
    if missing:
        what = (
            "no demo world"
            if len(missing) == len(TABLE_COLUMNS)
            else f"an incomplete demo world (missing {', '.join(m + '.parquet' for m in missing)})"
        )
        raise UserInputError(
            f"folder {f}: {what}; {SEED_HINT} (or set NASCAR_WORLD_DIR to a seeded folder)"
        )
    tables = {}
    names = [*TABLE_COLUMNS, *(["loop_stats"] if (f / LOOP_FILE).is_file() else [])]
    for name in names:
        path = f / (LOOP_FILE if name == "loop_stats" else f"{name}.parquet")
        # loop data comes only from history files: the synthetic world's seed-demo drops it
        hint = (
            "`nascar-pipeline seed-demo --from-history DIR`" if name == "loop_stats" else SEED_HINT
        )
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # corrupt or foreign file
            raise UserInputError(
                f"file {path}: cannot read the world table ({exc}); {hint} to rewrite it"
            ) from exc
        absent = [c for c in ALL_COLUMNS[name] if c not in df.columns]
        if absent:
            raise UserInputError(
                f"file {path}: missing columns {', '.join(absent)}; {hint} to rewrite it"
            )
        tables[name] = conform(name, df)
    return OntologyTables(**tables)


class EmbeddedWorldSource:
    """RaceSource over a world folder; the tables are loaded once, on first use, and cached."""

    def __init__(self, folder: str | os.PathLike | None = None):
        if folder is None:
            from nascar_pipeline.settings import get_settings

            folder = get_settings().world_dir
        self.folder = Path(folder)
        self._tables: OntologyTables | None = None
        self._races: pd.DataFrame | None = None

    @property
    def tables(self) -> OntologyTables:
        if self._tables is None:
            self._tables = load_world(self.folder).conformed()
        return self._tables

    def list_races(self) -> pd.DataFrame:
        if self._races is None:
            self._races = list_races(self.tables)
        return self._races.copy()

    def race_inputs(self, race_key: str) -> RaceInputs:
        return assemble_race_inputs(self.tables, race_key)

    def close(self) -> None:
        self._tables = None
        self._races = None
