"""Orchestration figures.

    python benchmarks/bench_orchestration.py              # sensor ticks with ~1,000 races
    python benchmarks/bench_orchestration.py --daemon     # + full race run and 10-race backfill
                                                          #   through dagster-daemon on Postgres

Tick: a world of 28 seasons (1,009 races) in the embedded source; race_sensor evaluated the way
the daemon evaluates it (evaluate_tick) against an instance (Postgres when the binaries are
installed, else SQLite): the first tick (1,009 new partitions, runs for the upcoming race), then
an identical tick. Dagster's limit for a sensor tick is 60 s.

--daemon: the production dagster.yaml on a throwaway Postgres, the code location as a gRPC
server, dagster-daemon as a subprocess (the stack of tests/test_orchestration_daemon.py); one
race through race_sensor (the full race_job, default run config), then a 10-race backfill.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def bench_ticks(seasons: int = 28) -> dict:
    from dagster import DagsterInstance, build_sensor_context, instance_for_test
    from dagster._core.definitions.partitions.context import partition_loading_context

    from nascar_pipeline.automation.sensors import race_sensor
    from nascar_pipeline.core.demo_world import generate_world
    from nascar_pipeline.definitions import defs
    from nascar_pipeline.sources.embedded import EmbeddedWorldSource, write_world
    from tests.services.postgres import PostgresServer, find_pg_bin

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        world = generate_world(seed=1, seasons=seasons)
        write_world(world, Path(tmp) / "world")
        out["world_races"] = int(len(world.races))
        out["world_build_s"] = round(time.perf_counter() - t, 2)
        source = EmbeddedWorldSource(Path(tmp) / "world")
        t = time.perf_counter()
        races = source.list_races()
        out["embedded_list_races_s"] = round(time.perf_counter() - t, 2)

        class Res:
            def source(self):
                return source

        pg = None
        overrides = None
        if find_pg_bin() is not None:
            pg = PostgresServer().start()
            db = pg.create_database("bench_ticks")
            overrides = {"storage": {"postgres": {"postgres_db": {
                "hostname": pg.host, "port": pg.port, "username": pg.user, "password": "",
                "db_name": db, "scheme": "postgresql+psycopg2"}}}}
        out["instance"] = "postgres" if pg else "sqlite"
        try:
            with instance_for_test(overrides=overrides) as instance:
                cursor = None
                for tick in ("first_tick", "second_tick"):
                    ctx = build_sensor_context(instance=instance, instance_ref=instance.get_ref(),
                                               cursor=cursor, repository_def=defs.get_repository_def(),
                                               resources={"race_source": Res()})
                    t = time.perf_counter()
                    with partition_loading_context(dynamic_partitions_store=instance):
                        data = race_sensor.evaluate_tick(ctx)
                    out[f"{tick}_s"] = round(time.perf_counter() - t, 2)
                    added = sum(len(r.partition_keys) for r in data.dynamic_partitions_requests or [])
                    out[f"{tick}_partitions_added"] = added
                    out[f"{tick}_run_requests"] = len(data.run_requests or [])
                    t = time.perf_counter()
                    for req in data.dynamic_partitions_requests or []:
                        instance.add_dynamic_partitions(req.partitions_def_name,
                                                        list(req.partition_keys))
                    if added:
                        out["apply_partitions_s"] = round(time.perf_counter() - t, 2)
                    cursor = data.cursor
        finally:
            if pg:
                pg.cleanup()
    assert len(races) == out["world_races"]
    return out


def bench_daemon() -> dict:
    import pytest  # noqa: F401 - the stack helper lives in the test module

    from tests.services.postgres import PostgresServer
    from tests.test_orchestration_daemon import Stack, _run_seconds, _wait_success, wait_for

    from nascar_pipeline.automation.policies import TAG_BACKFILL, TAG_TRIGGER

    out: dict = {"cores": os.cpu_count()}
    pg = PostgresServer().start()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(pg, Path(tmp))
        try:
            races = stack.races()
            runs = wait_for(lambda: stack.runs(tags={TAG_TRIGGER: "sensor"}), 600, 2, "sensor run")
            _wait_success(stack, [runs[0].run_id], 7200)
            out["full_race_run_s"] = round(_run_seconds(stack.instance, runs[0].run_id), 1)
            keys = races[races["has_results"]]["race_key"].tolist()[10:20]
            t0 = time.time()
            text = stack.backfill("--races", ",".join(keys))
            bf = [ln for ln in text.splitlines() if ln.startswith("backfill ")][0].split()[1][:-1]
            bruns = stack.runs(tags={TAG_BACKFILL: bf})
            _wait_success(stack, [r.run_id for r in bruns], 4 * 3600)
            end = max(stack.instance.get_run_stats(r.run_id).end_time for r in bruns)
            out["ten_race_backfill_s"] = round(end - t0, 1)
            out["ten_race_backfill_runs"] = len(bruns)
        finally:
            stack.close()
            pg.cleanup()
    return out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--daemon", action="store_true")
    p.add_argument("--seasons", type=int, default=28)
    args = p.parse_args()
    figures = {"ticks": bench_ticks(args.seasons)}
    if args.daemon:
        figures["daemon"] = bench_daemon()
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
