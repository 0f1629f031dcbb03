"""Orchestration figures.

    python benchmarks/bench_orchestration.py              # sensor ticks with ~1,000 races
    python benchmarks/bench_orchestration.py --daemon     # + full race run and 10-race backfill
                                                          #   through dagster-daemon on Postgres
    python benchmarks/bench_orchestration.py --daemon --skip-ticks \
        --race-config test --backfill-config test --backfill-races 10

Tick: a world of 28 seasons (1,009 races) in the embedded source; race_sensor evaluated the way
the daemon evaluates it (evaluate_tick) against an instance (Postgres when the binaries are
installed, else SQLite): the first tick (1,009 new partitions, runs for the upcoming race), then
an identical tick. Dagster's limit for a sensor tick is 60 s.

--daemon: the production dagster.yaml on a throwaway Postgres, the code location as a gRPC
server, dagster-daemon as a subprocess (the stack of tests/test_orchestration_daemon.py, pools
neo4j=1, mcmc=1); one race through race_sensor (the whole race_job: 7 assets and their blocking
checks), then `nascar-pipeline backfill` of the whole race_job for N historical races.

Run configs (--race-config / --backfill-config): `test` = the daemon tests' RACE_RUN_OPS
(race_model_fit 4 chains x (400 warmup + 750 draws), SVI 1,500, target_accept 0.95 - the model
tests' converging settings; 2,000 scenarios; ownership 300 scenarios; 8 lineups, MH 60 steps,
field 1,500), a small contest for 2 cores;
`production` = the assets' own defaults (4 x (400 + 500), SVI 1,500, 10,000 scenarios, ...);
or a YAML file. The backfill's figure is from submission to the end of the last run; each
run's outcome is reported (a race whose model misses the convergence gate is reported with
the failed check, not hidden).

    python benchmarks/bench_orchestration.py --daemon --skip-ticks --world demo \
        --race-config production --backfill-config production --backfill-season last

    python benchmarks/bench_orchestration.py --daemon --skip-ticks --world real \
        --backfill-config production --backfill-season 2025

--world real: the real Cup history 2019-25 with its loop data ($NASCAR_SHARED_DATA/history, or
../shared/data/history; the world `seed-demo --from-history` writes); it has no upcoming race
(no sensor run) and no salaries, so the backfill materializes the snapshot and the model
(schedules.UNPRICED_ASSETS, with their checks; --backfill-select to change) and each race prints
"model only".
--world demo: the world `make demo` seeds for users (seed-demo's defaults: seed 7, seasons
2024-26 of 36 races, the upcoming race in 2027) instead of the daemon tests' one-season world;
--backfill-season YEAR|last: every race of that season (`nascar-pipeline backfill --season`).
Each race is printed as its runs end (gate outcome, run time, every fit attempt's R-hat / ESS,
failed checks), and at the end a summary (benchmarks/backfill_outcomes.py): races, how many
passed the convergence gate on the first attempt and how many only after race_model_fit's own
re-fit, how many failed it, how many got no lineups, time per race from run start to end
(mean, max) and the load average over the backfill.

    python benchmarks/bench_orchestration.py --skip-ticks --race-compare [--warm-up]

--race-compare (issue 14's figure): the sensor-requested race run at production settings
(RACE_PRODUCTION_OPS: 4 chains x (400 + 500), 10,000 scenarios, 150 lineups, a 10,000 field;
the fit cache off, so every run fits) through the daemon on Postgres, twice, each on a fresh
stack sharing one JAX compilation cache (NASCAR_JAX_CACHE, default .cache/jax-tests: warm after
a first run of each; --warm-up runs both once first and discards them): chains in parallel over
the host devices (the jax_runtime resource's default), then sequential chains
(jax_runtime.host_devices = 1, the way a one-device process runs them). Prints for each: run
start to contest_simulation's end, the whole run, every step's seconds and race_model_fit's
stage split (compile / cache load, SVI, warm-up, sampling, diagnostics), the convergence
figures, the load average; and the ratio. History: the stack's demo world (one season).
The machine is shared: compare the ratio, and read each figure beside its load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import time
from pathlib import Path

BACKFILL_ID_TAG = "dagster/backfill"  # Dagster's tag on every run of a backfill

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def bench_ticks(seasons: int = 28) -> dict:
    from dagster import build_sensor_context, instance_for_test
    from dagster._core.definitions.partitions.context import partition_loading_context

    from nascar_pipeline.automation.sensors import race_sensor
    from nascar_pipeline.definitions import defs
    from nascar_pipeline.sources.demo_world import generate_world
    from nascar_pipeline.sources.embedded import EmbeddedWorldSource, write_world
    from tests.support.services.postgres import PostgresServer, find_pg_bin

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
            overrides = {
                "storage": {
                    "postgres": {
                        "postgres_db": {
                            "hostname": pg.host,
                            "port": pg.port,
                            "username": pg.user,
                            "password": "",
                            "db_name": db,
                            "scheme": "postgresql+psycopg2",
                        }
                    }
                }
            }
        out["instance"] = "postgres" if pg else "sqlite"
        try:
            with instance_for_test(overrides=overrides) as instance:
                cursor = None
                for tick in ("first_tick", "second_tick"):
                    ctx = build_sensor_context(
                        instance=instance,
                        instance_ref=instance.get_ref(),
                        cursor=cursor,
                        repository_def=defs.get_repository_def(),
                        resources={"race_source": Res()},
                    )
                    t = time.perf_counter()
                    with partition_loading_context(dynamic_partitions_store=instance):
                        data = race_sensor.evaluate_tick(ctx)
                    out[f"{tick}_s"] = round(time.perf_counter() - t, 2)
                    added = sum(
                        len(r.partition_keys) for r in data.dynamic_partitions_requests or []
                    )
                    out[f"{tick}_partitions_added"] = added
                    out[f"{tick}_run_requests"] = len(data.run_requests or [])
                    t = time.perf_counter()
                    for req in data.dynamic_partitions_requests or []:
                        instance.add_dynamic_partitions(
                            req.partitions_def_name, list(req.partition_keys)
                        )
                    if added:
                        out["apply_partitions_s"] = round(time.perf_counter() - t, 2)
                    cursor = data.cursor
        finally:
            if pg:
                pg.cleanup()
    assert len(races) == out["world_races"]
    return out


def _run_config(name: str) -> dict:
    from tests.support.daemon_stack import RACE_RUN_OPS

    if name == "test":
        return {"ops": RACE_RUN_OPS}
    if name == "production":
        return {}
    import yaml

    return yaml.safe_load(Path(name).read_text()) or {}


def _world_stack(world: str):
    """The Stack class seeding `world`: "stack" = the daemon tests' world (seed 3, one season),
    "demo" = the world `make demo` / `nascar-pipeline seed-demo` seeds for users (its defaults:
    seed 7, three completed seasons of 36 races and the upcoming race)."""
    from tests.support.daemon_stack import Stack

    if world == "stack":
        return Stack
    if world == "real":

        class RealHistoryStack(Stack):
            def _seed(self) -> None:
                from nascar_pipeline.sources.embedded import write_world
                from nascar_pipeline.sources.history_world import world_from_history

                write_world(world_from_history(_shared_history()), self.world)

        return RealHistoryStack

    class DemoWorldStack(Stack):
        def _seed(self) -> None:
            from nascar_pipeline.sources.demo_world import generate_world
            from nascar_pipeline.sources.embedded import write_world

            write_world(generate_world(), self.world)  # seed-demo's world, its defaults

    return DemoWorldStack


def _shared_history() -> Path:
    """The real history folder: $NASCAR_SHARED_DATA/history, else ../shared/data/history."""
    base = os.environ.get("NASCAR_SHARED_DATA") or str(REPO.parent / "shared" / "data")
    folder = Path(base) / "history"
    if not (folder / "races.csv").is_file():
        raise SystemExit(f"--world real: no history at {folder} (set NASCAR_SHARED_DATA)")
    return folder


def _model_assets() -> str:
    """What a backfill of real history materializes: its files carry no DraftKings salaries, so
    what an unpriced race gets (the snapshot, the model, the projections, with their checks)."""
    from nascar_pipeline.automation.schedules import UNPRICED_ASSETS

    return ",".join(UNPRICED_ASSETS)


def _backfill_keys(races, count: int, season: str | None) -> tuple[list[str], list[str]]:
    """(race keys the backfill runs, the backfill command's race arguments): N races from the
    11th on, or every race of a season ("last": the last season with results) by --season,
    as an operator backfills one."""
    done = races[races["has_results"]]
    if season is None:
        keys = done["race_key"].tolist()[10 : 10 + count]
        return keys, ["--races", ",".join(keys)]
    year = int(done["season"].max()) if season == "last" else int(season)
    keys = done[done["season"].astype(int) == year]["race_key"].tolist()
    if not keys:
        raise SystemExit(f"--backfill-season {season}: no races with results in that season")
    return keys, ["--season", str(year)]


def bench_daemon(
    race_config: str = "test",
    backfill_config: str = "test",
    backfill_races: int = 10,
    world: str = "stack",
    backfill_season: str | None = None,
    backfill_select: str | None = None,
) -> dict:
    import pytest  # noqa: F401 - the stack helper lives in the test module
    import yaml
    from backfill_outcomes import race_line, summarize, summary_text

    from tests.support.daemon_stack import wait_for
    from tests.support.services.postgres import PostgresServer

    out: dict = {
        "cores": os.cpu_count(),
        "world": world,
        "race_config": race_config,
        "backfill_config": backfill_config,
        "backfill_select": backfill_select or "race_job (every asset)",
        "load_avg_start": os.getloadavg(),
    }
    pg = PostgresServer().start()
    with tempfile.TemporaryDirectory() as tmp:
        # The sensor's runs take NASCAR_RACE_RUN_CONFIG (written by Stack).
        # webserver=True: `nascar-pipeline backfill` submits a native backfill through its GraphQL.
        stack = _world_stack(world)(
            pg, Path(tmp), run_config=_run_config(race_config), webserver=True
        )
        try:
            races = stack.races()
            if races["has_results"].all():  # real history: no upcoming race for the sensor
                print("no upcoming race in the world: no sensor race run", flush=True)
            else:
                _sensor_race_run(stack, out)
            keys, which = _backfill_keys(races, backfill_races, backfill_season)
            cfg = Path(tmp) / "backfill_run.yaml"
            cfg.write_text(yaml.safe_dump(_run_config(backfill_config)))
            select = ["--select", backfill_select] if backfill_select else []
            t0 = time.time()
            text = stack.backfill(*which, "--config", str(cfg), *select)
            bf = re.search(r"backfill (\S+):", text).group(1)
            print(f"backfill {bf}: {len(keys)} races ({which[0]} {which[1][:80]}), load {_load()}")
            # The daemon's backfill loop creates the runs after the command returns: every run of
            # a Dagster backfill carries its id in the `dagster/backfill` tag.
            wait_for(
                lambda: (r := stack.runs(tags={BACKFILL_ID_TAG: bf})) and len(r) >= len(keys) and r,
                600,
                2,
                f"backfill {bf}'s runs",
            )
            lineups = backfill_select is None or "lineup_portfolio" in backfill_select
            records, loads = _follow_backfill(stack, bf, race_line, lineups)
            allruns = stack.runs(tags={BACKFILL_ID_TAG: bf})
            end = max(stack.instance.get_run_stats(r.run_id).end_time or 0 for r in allruns)
            out["backfill_races"] = len(records)
            out["backfill_s"] = round(end - t0, 1)
            out["backfill_outcomes"] = {r["race_key"]: r["status"] for r in records}
            out["backfill_failed_checks"] = {
                r["race_key"]: r["failed_checks"] for r in records if r["failed_checks"]
            }
            out["backfill_run_s"] = sorted(r["seconds"] for r in records)
            out["backfill_summary"] = summarize(records)
            out["backfill_load_avg_1m_mean"] = round(sum(loads) / max(len(loads), 1), 2)
            out["load_avg_end"] = os.getloadavg()
            out["backfill_summary_text"] = summary_text(
                out["backfill_summary"],
                f"{out['backfill_load_avg_1m_mean']} (1 min, mean over the backfill; "
                f"1/5/15 min at the end {_load()}) on {os.cpu_count()} CPUs",
            )
        finally:
            stack.close()
            pg.cleanup()
    return out


def _sensor_race_run(stack, out: dict) -> None:
    """The upcoming race's run, as race_sensor requests it: its time, status and steps."""
    from nascar_pipeline.automation.policies import TAG_TRIGGER
    from tests.support.daemon_stack import (
        failed_blocking_checks,
        group_outcome,
        run_seconds,
        wait_for,
    )

    runs = wait_for(lambda s=stack: s.runs(tags={TAG_TRIGGER: "sensor"}), 600, 2, "sensor run")
    rid = runs[0].run_id
    wait_for(lambda: group_outcome(stack, rid), 7200, 2, "the sensor's race run")
    out["full_race_run_s"] = round(run_seconds(stack.instance, rid), 1)
    out["full_race_run_status"] = group_outcome(stack, rid)
    out["full_race_failed_checks"] = failed_blocking_checks(stack, rid)
    out["full_race_step_s"] = _step_seconds(stack, rid)
    print(f"sensor race run: {json.dumps({k: out[k] for k in out if 'full' in k})}")


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _follow_backfill(
    stack, backfill_id: str, line, lineups: bool = True, poll_s: float = 10, timeout_s=12 * 3600
):
    """Wait for every race of the backfill, printing each race's line as its runs end
    (a partial log still says how far it got). Returns (records, 1-minute loads sampled).
    Interrupted (kill -INT), it returns the races that ended so far: the summary covers them
    and the stack is still closed."""
    done: dict[str, dict] = {}
    loads: list[float] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if _poll_backfill(stack, backfill_id, line, done, loads, lineups):
                return [done[k] for k in sorted(done)], loads
            time.sleep(poll_s)
    except KeyboardInterrupt:  # stopped early (kill -INT): the races that ended so far
        print(f"interrupted: {len(done)} races ended; the summary covers them", flush=True)
        return [done[k] for k in sorted(done)], loads
    raise AssertionError(f"backfill {backfill_id}: {len(done)} races ended in {timeout_s} s")


def _poll_backfill(
    stack, backfill_id: str, line, done: dict, loads: list, lineups: bool = True
) -> bool:
    """One look at the backfill's runs: records (and prints) the races whose runs ended since
    the last look; True once every race has."""
    from tests.support.daemon_stack import group_outcome

    loads.append(os.getloadavg()[0])
    by_race: dict[str, list] = {}
    for r in stack.runs(tags={BACKFILL_ID_TAG: backfill_id}):
        by_race.setdefault(r.tags["dagster/partition"], []).append(r)
    for race, runs in sorted(by_race.items()):
        root = next((r for r in runs if not r.parent_run_id), runs[0])
        if race in done or not group_outcome(stack, root.run_id):
            continue
        done[race] = _race_record(stack, race, root.run_id, lineups)
        print(f"[{len(done)}/{len(by_race)}] {line(done[race])}", flush=True)
    return bool(by_race) and len(done) == len(by_race)


def _race_record(stack, race: str, root_id: str, lineups: bool = True) -> dict:
    """One race of the backfill as benchmarks/backfill_outcomes.py reads it."""
    from tests.support.daemon_stack import failed_blocking_checks, group_outcome, run_group

    runs = run_group(stack, root_id)
    stats = [stack.instance.get_run_stats(r.run_id) for r in runs]
    starts = [s.launch_time for s in stats if s.launch_time]
    ends = [s.end_time for s in stats if s.end_time]
    mats: dict = {}
    for r in sorted(runs, key=lambda r: int(r.tags.get("dagster/retry_number", "0"))):
        mats.update(_materializations(stack, r.run_id))
    fit = mats.get("race_model_fit")
    return {
        "race_key": race,
        "status": group_outcome(stack, root_id),
        "seconds": round(max(ends) - min(starts), 1) if starts and ends else 0.0,
        "runs": len(runs),
        "fit": (
            {
                k: fit[k]
                for k in (
                    "gate_passed",
                    "attempts_count",
                    "stale_model",
                    "attempts",
                    "rhat_max",
                    "loop_data",
                )
                if k in fit
            }
            if fit
            else None
        ),
        "failed_checks": sorted({c for r in runs for c in failed_blocking_checks(stack, r.run_id)}),
        "lineups": ("lineup_portfolio" in mats) if lineups else None,  # None: not selected
        "load_1m": os.getloadavg()[0],
    }


def _materializations(stack, run_id) -> dict[str, dict]:
    """asset name -> its materialization's metadata (plain values) in one run."""
    from dagster._core.events import DagsterEventType

    out = {}
    for rec in stack.instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
    ).records:
        mat = rec.event_log_entry.dagster_event.event_specific_data.materialization
        out[mat.asset_key.path[-1]] = {k: v.value for k, v in mat.metadata.items()}
    return out


# Production settings of issue 14's race figure; the fit cache is off so each run fits.
# The asset's own target_accept (0.9): with car effects as contrasts (race_model_fit's default)
# the stack's one-season world passes the gate there on the first attempt (R-hat 1.003, bulk
# ESS 1,246, 0 divergences; without them 2.3 % divergences and a re-fit, which this figure
# used to hide behind target_accept 0.95).
RACE_PRODUCTION_OPS = {
    "race_model_fit": {"config": {"use_cache": False}},
    "race_scenarios": {"config": {"scenarios": 10_000}},
    "lineup_portfolio": {"config": {"n_lineups": 150}},
    "contest_simulation": {"config": {"field_size": 10_000}},
}
SEQUENTIAL_CHAINS = {"jax_runtime": {"config": {"host_devices": 1}}}


def _fit_metadata(stack, run_id) -> dict:
    """race_model_fit's stage split and convergence figures from its materialization."""
    from dagster import AssetKey
    from dagster._core.events import DagsterEventType

    for rec in stack.instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
    ).records:
        mat = rec.event_log_entry.dagster_event.event_specific_data.materialization
        if mat.asset_key != AssetKey("race_model_fit"):
            continue
        meta = {k: v.value for k, v in mat.metadata.items()}
        timings = meta.get("timings_s") or {}
        keys = ("compile_s", "svi_s", "warmup_s", "sampling_s", "diagnostics_s", "total_s")
        out = {k: timings[k] for k in keys if k in timings}
        for k in ("chains_parallel", "devices"):
            if k in timings:
                out[k] = timings[k]
        for k in ("rhat_max", "ess_bulk_min", "divergences", "mean_leapfrog_steps"):
            if k in meta:
                out[k] = meta[k]
        # the asset's own stages (history preparation, fit cache, summary), beside the fit's
        out["asset_stages_s"] = meta.get("stage_seconds") or {}
        return out
    return {}


def _step_timeline(stack, run_id, step: str) -> list:
    """[seconds since the step's first event, event type, message head] for one step: where a
    step's wall time goes outside the asset's own stage timer (inputs, outputs, checks)."""
    rows = [
        r.event_log_entry
        for r in stack.instance.get_records_for_run(run_id).records
        if r.event_log_entry.step_key == step
    ]
    if not rows:
        return []
    t0 = rows[0].timestamp
    return [
        [
            round(e.timestamp - t0, 1),
            e.dagster_event.event_type_value if e.is_dagster_event else "log",
            (e.user_message or "")[:70],
        ]
        for e in rows
    ]


def bench_race_compare(warm_up: bool = False, only: str | None = None) -> dict:
    """The sensor's production race run with parallel, then sequential chains (see --help)."""
    from nascar_pipeline.automation.policies import TAG_TRIGGER
    from tests.support.daemon_stack import (
        Stack,
        failed_blocking_checks,
        group_outcome,
        run_seconds,
        step_spans,
        wait_for,
    )
    from tests.support.services.postgres import PostgresServer

    measured = [("parallel chains", {}), ("sequential chains", SEQUENTIAL_CHAINS)]
    measured = [m for m in measured if only is None or m[0].startswith(only)]
    variants = [(f"warm-up, {label} (discarded)", r) for label, r in measured] if warm_up else []
    variants += measured
    out: dict = {"cores": os.cpu_count(), "runs": {}}
    pg = PostgresServer().start()
    try:
        for label, resources in variants:
            config = {"ops": RACE_PRODUCTION_OPS, **({"resources": resources} if resources else {})}
            with tempfile.TemporaryDirectory() as tmp:
                stack = Stack(pg, Path(tmp), run_config=config)
                try:
                    load0 = os.getloadavg()[0]
                    runs = wait_for(
                        lambda s=stack: s.runs(tags={TAG_TRIGGER: "sensor"}), 600, 2, "sensor run"
                    )
                    rid = runs[0].run_id
                    wait_for(lambda s=stack, r=rid: group_outcome(s, r), 7200, 2, f"{label} run")
                    spans = step_spans(stack, rid)
                    stats = stack.instance.get_run_stats(rid)
                    contest_end = (spans.get("contest_simulation") or (None, None))[1]
                    out["runs"][label] = {
                        "status": group_outcome(stack, rid),
                        "failed_checks": failed_blocking_checks(stack, rid),
                        "to_contest_simulation_s": (
                            round(contest_end - stats.launch_time, 1) if contest_end else None
                        ),
                        "whole_run_s": round(run_seconds(stack.instance, rid), 1),
                        "steps_s": _step_seconds(stack, rid),
                        "fit": _fit_metadata(stack, rid),
                        "fit_step_events": _step_timeline(stack, rid, "race_model_fit"),
                        "load_avg_1m": round((load0 + os.getloadavg()[0]) / 2, 2),
                    }
                    print(f"{label}: {json.dumps(out['runs'][label])}", flush=True)
                finally:
                    stack.close()
    finally:
        pg.cleanup()
    return out


def print_race_compare(figures: dict) -> None:
    runs = figures["runs"]
    print(
        f"\nsensor race run, production settings, through the daemon on Postgres "
        f"({figures['cores']} CPUs):"
    )
    for label, r in runs.items():
        fit = r["fit"]
        split = ", ".join(
            f"{name} {fit[k]:.1f} s"
            for name, k in (
                ("compile/cache load", "compile_s"),
                ("SVI", "svi_s"),
                ("warm-up", "warmup_s"),
                ("sampling", "sampling_s"),
                ("diagnostics", "diagnostics_s"),
            )
            if k in fit
        )
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in r["steps_s"].items())
        print(
            f"- {label}: to contest_simulation {r['to_contest_simulation_s']} s, whole run "
            f"{r['whole_run_s']} s, {r['status']}, load {r['load_avg_1m']}\n"
            f"    steps: {steps}\n    race_model_fit: {split}; R-hat max "
            f"{fit.get('rhat_max', float('nan')):.4f}, bulk ESS min "
            f"{fit.get('ess_bulk_min', float('nan')):.0f}, divergences "
            f"{fit.get('divergences')}, failed checks {r['failed_checks'] or 'none'}"
        )
        stages = fit.get("asset_stages_s") or {}
        if stages:
            print(
                "    race_model_fit asset stages: "
                + ", ".join(f"{k} {v}" for k, v in stages.items())
            )
    par, seq = runs.get("parallel chains"), runs.get("sequential chains")
    if par and seq and par["to_contest_simulation_s"] and seq["to_contest_simulation_s"]:
        p, q = par["to_contest_simulation_s"], seq["to_contest_simulation_s"]
        print(
            f"parallel / sequential to contest_simulation: {p / q:.2f} ({p} s vs {q} s); "
            f"race_model_fit sampling "
            f"{par['fit'].get('sampling_s', 0) / max(seq['fit'].get('sampling_s', 1e-9), 1e-9):.2f}"
            f"; target <= 60 s on 2 cores: {'PASS' if p <= 60 else 'MISS'} (load "
            f"{par['load_avg_1m']} on {figures['cores']} CPUs)"
        )


def _step_seconds(stack, run_id) -> dict:
    from tests.support.daemon_stack import step_spans

    return {
        k: round(b - a, 1)
        for k, (a, b) in step_spans(stack, run_id).items()
        if b is not None and b - a >= 1
    }


def summarize_log(path: Path) -> int:
    """The summary of the races a log's per-race lines report (backfill_outcomes.race_line)."""
    from backfill_outcomes import parse_race_line, summarize, summary_text

    text = path.read_text(errors="replace").splitlines()
    records = [r for r in map(parse_race_line, text) if r]
    started = next((t for t in text if re.match(r"backfill \S+: \d+ races", t)), "")
    print(f"{path}: {len(records)} races ended; {started}")
    summary = summarize(records)
    load = summary["load_1m_mean"]
    print(
        summary_text(
            summary,
            "not in these lines" if load is None else f"{load} (1 min, mean at the races' ends)",
        )
    )
    return 0 if records else 1


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument(
        "--daemon",
        action="store_true",
        help="also time a full race run and a backfill through dagster-daemon",
    )
    p.add_argument("--seasons", type=int, default=28)
    p.add_argument("--skip-ticks", action="store_true", help="skip the sensor-tick figures")
    p.add_argument(
        "--race-config",
        default="test",
        help="run config of the sensor's full race run: test | production | FILE",
    )
    p.add_argument(
        "--backfill-config",
        default="test",
        help="run config of the backfill's runs: test | production | FILE",
    )
    p.add_argument("--backfill-races", type=int, default=10)
    p.add_argument(
        "--backfill-season",
        metavar="YEAR|last",
        help="backfill every race of a season (`nascar-pipeline backfill --season`) instead of "
        "--backfill-races; last: the world's last season with results",
    )
    p.add_argument(
        "--summarize-log",
        metavar="FILE",
        help="print the backfill summary of a log of this benchmark (its per-race lines), "
        "e.g. of a run stopped before its end; runs nothing",
    )
    p.add_argument(
        "--world",
        choices=("stack", "demo", "real"),
        default="stack",
        help="--daemon's world: stack = the daemon tests' (seed 3, one season); demo = the "
        "one `make demo` seeds for users (seed-demo's defaults: seed 7, three seasons); real = "
        "the real Cup history with loop data ($NASCAR_SHARED_DATA/history, as `seed-demo "
        "--from-history` writes it; no salaries: the backfill selects the model assets)",
    )
    p.add_argument(
        "--backfill-select",
        metavar="ASSET,...",
        help="the backfill's assets (`nascar-pipeline backfill --select`; default the whole "
        "race_job, with --world real the snapshot, model and projections)",
    )
    p.add_argument(
        "--race-compare",
        action="store_true",
        help="the sensor's production race run, parallel vs sequential chains (issue 14)",
    )
    p.add_argument(
        "--warm-up", action="store_true", help="with --race-compare: one discarded run first"
    )
    p.add_argument(
        "--only",
        choices=("parallel", "sequential"),
        help="with --race-compare: run one of the two variants (no ratio)",
    )
    args = p.parse_args()
    # A shell starts a background job with SIGINT ignored: restore it, so `kill -INT` stops a
    # backfill early and still prints the summary of the races that ended.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.summarize_log:
        return summarize_log(Path(args.summarize_log))
    figures = {} if args.skip_ticks else {"ticks": bench_ticks(args.seasons)}
    if args.race_compare:
        figures["race_compare"] = bench_race_compare(args.warm_up, args.only)
    if args.daemon:
        figures["daemon"] = bench_daemon(
            args.race_config,
            args.backfill_config,
            args.backfill_races,
            args.world,
            args.backfill_season,
            args.backfill_select or (_model_assets() if args.world == "real" else None),
        )
    print(json.dumps(figures, indent=1))
    if "backfill_summary_text" in figures.get("daemon", {}):
        print("\nbackfill through the daemon:\n" + figures["daemon"]["backfill_summary_text"])
    if "race_compare" in figures:
        print_race_compare(figures["race_compare"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
