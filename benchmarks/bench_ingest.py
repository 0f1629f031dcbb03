"""Benchmark: ingest the 2019-2025 history into a real Neo4j, re-import it, read it back.

    .venv/bin/python benchmarks/bench_ingest.py [--data ../shared/data] [--cold-maven]

Starts the test server (tests/support/services/neo4j_server.py), prints one line per figure:
Maven resolution (--cold-maven: into a fresh temporary cache, i.e. what CI pays on a new
machine), server start, parse, first ingest (one transaction), re-import (a no-op), list_races
(the sensor's poll) and race_inputs for the last race.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(label: str, fn, *a, **kw):
    t0 = time.perf_counter()
    out = fn(*a, **kw)
    print(f"{label:<40s} {time.perf_counter() - t0:8.2f} s", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument(
        "--cold-maven",
        action="store_true",
        help="resolve the server jars into a fresh temporary cache first",
    )
    args = ap.parse_args()
    data = Path(args.data)
    races, results = data / "history" / "races.csv", data / "history" / "results.csv"
    if not races.exists():
        print(f"no history data at {data}", file=sys.stderr)
        return 2

    from tests.support.services import neo4j_server as ns

    cold_dir = None
    if args.cold_maven:
        cold_dir = tempfile.mkdtemp(prefix="nascar-cache-")
        os.environ["NASCAR_CACHE"] = cold_dir
        timed("maven resolution (cold cache)", ns.resolve_classpath)
        size = sum(f.stat().st_size for f in Path(cold_dir).rglob("*") if f.is_file())
        print(f"{'  downloaded into the cache':<40s} {size / 1e6:8.1f} MB")
    else:
        timed("maven resolution (cached)", ns.resolve_classpath)

    from nascar_pipeline.ontology.parsers.history import parse_history
    from nascar_pipeline.ontology.writer import write_tables
    from nascar_pipeline.sources.neo4j_source import Neo4jRaceSource

    server = ns.Neo4jServer()
    try:
        timed("server start (until Bolt answers)", server.start)
        with server.driver() as driver:
            tables = timed("parse history CSVs (249 races)", parse_history, races, results)
            s1 = timed("ingest history (1 transaction)", write_tables, driver, tables, "history")
            print(f"  {s1.line()}")
            s2 = timed("re-import history (no-op)", write_tables, driver, tables, "history")
            print(f"  {s2.line()}")
            src = Neo4jRaceSource(driver)
            for i in range(3):
                timed(f"list_races #{i + 1} (sensor poll)", src.list_races)
            last = tables.races.sort_values("race_date")["race_key"].iloc[-1]
            for i in range(2):
                inp = timed(f"race_inputs(last race) #{i + 1}", src.race_inputs, last)
            print(f"  history rows for {last}: {len(inp.history)}")
            for i in range(2):
                timed(
                    f"materialize race_snapshot (Dagster) #{i + 1}",
                    _materialize_snapshot,
                    server,
                    last,
                )
    finally:
        timed("server stop", server.stop)
        if cold_dir:
            shutil.rmtree(cold_dir, ignore_errors=True)
    return 0


def _materialize_snapshot(server, race_key: str) -> None:
    """The race_snapshot asset through Dagster, from Neo4j to Parquet in a temp folder.
    Without its checks: the figure is the asset's read and write alone."""
    import tempfile

    from dagster import DagsterInstance, materialize

    from nascar_pipeline.assets.snapshot import race_snapshot
    from nascar_pipeline.resources.neo4j import Neo4jResource
    from nascar_pipeline.resources.storage import storage_resources

    with tempfile.TemporaryDirectory() as root:
        instance = DagsterInstance.ephemeral()
        instance.add_dynamic_partitions("races", [race_key])
        result = materialize(
            [race_snapshot],
            partition_key=race_key,
            instance=instance,
            resources={
                "race_source": Neo4jResource(
                    uri=server.uri, user=server.user, password=server.password
                ),
                **storage_resources(root),
            },
        )
        assert result.success


if __name__ == "__main__":
    sys.exit(main())
