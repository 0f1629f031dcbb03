"""Chaos run of a race week: are the races ready before lock while things break?

    python benchmarks/chaos_race_week.py                  # 5 races
    python benchmarks/chaos_race_week.py --races 4 --seed 2 --keep

What it runs: the production instance (the repo's dagster.yaml: the resilient Postgres storage,
the run queue, pools, run monitoring and run retries) on a throwaway PostgreSQL cluster started
here (tests/support/services/postgres.py), the code location as a gRPC server and the real
`dagster-daemon` (tests/support/daemon_stack.py, pools neo4j=1, mcmc=1), on the embedded world
(the daemon tests' world: seed 3, one season, whose fits pass the convergence gate). Nothing here
uses a service that happens to be running. Alerts go to a local webhook receiver
(tests/support/webhook.py) through NASCAR_ALERT_WEBHOOK_URL.

The week: the last N races of the season are held back; one at a time, a race's slate (race,
entry list with salaries and grid, contest) appears in the world with a lock time
`--lock-minutes` ahead, and race_sensor starts its run as in production. Once the race is
ready (lineups and contest simulation materialized for its slate, their checks passed: what
race_readiness_sensor checks) or its lock has passed, and its runs are over, the race "is run":
its results are ingested (so the next race fits on one more race of history, and
results_sensor backtests it), and the next slate appears.

Faults, one pattern per race (cycled past five races; `--seed` moves the moments):
1. PostgreSQL stopped a few seconds into race_model_fit, down `--pg-down` s, started again;
2. the run's worker SIGKILLed a few seconds into race_model_fit (found by the run id: the
   "Started process for run (pid: N)" event) with its children: run retries re-execute it;
3. the fit forced to fail its convergence gate (a tiny chain, max_refits 1, through the run
   config the automation attaches: NASCAR_RACE_RUN_CONFIG): the escalation re-fits, then falls
   back to the last good fit of an earlier race and the readiness sensor alerts `stale_model`;
4. PostgreSQL restarted as race_scenarios starts, the worker SIGKILLed as lineup_portfolio starts;
5. PostgreSQL restarted while the run is being launched, the worker SIGKILLed mid-fit.

Printed at the end: races ready before their lock / total, alerts by cause, runs retried or
re-requested, runs failed, files left partial under the storage root (temporary files,
Parquet / npz / JSON that do not read, manifests without their file or not matching it, Parquet
without a manifest: must be 0), the wall time and each race's timings. Exit 1 when a file is
partial or a race was not ready before its lock without a stale-model alert for it.

Fit settings: the daemon tests' RACE_RUN_OPS (4 chains x (400 warm-up + 750 draws), SVI 1,500,
target_accept 0.95: the smallest the tests know to pass the gate on this world; fewer draws
fail the bulk-ESS >= 400 rule on some races, and each failure doubles the chains) and the DFS
assets' test settings (tests/support/run_configs.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RACE_STEPS = (
    "race_snapshot",
    "race_model_fit",
    "race_scenarios",
    "driver_projections",
    "ownership_projections",
    "lineup_portfolio",
    "contest_simulation",
)
LAUNCH = "(launch)"  # a fault that lands while the daemon launches the run
GATE_FAIL_FIT = {"draws": 5, "warmup": 5, "chains": 2, "svi_steps": 20, "max_refits": 1}
READY_MINUTES_BEFORE_LOCK = 2.0  # race_readiness_sensor's rule, scaled to the simulated week
TEMP_MARK = ".tmp"  # the atomic writer's temporary names: .<name>.<uuid>.tmp

# ---- files left partial -------------------------------------------------------------------


@dataclass(frozen=True)
class Partial:
    path: str  # relative to the storage root
    problem: str


def _unreadable(path: Path) -> str | None:
    """Why a finished file does not read back, or None."""
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            pq.read_table(path)
        elif path.suffix == ".npz":
            import numpy as np

            with np.load(path, allow_pickle=False) as z:
                if not z.files:
                    return "npz holds no arrays"
                for name in z.files:
                    z[name]  # noqa: B018 - decompress every array
        elif path.suffix == ".json":
            json.loads(path.read_text())
    except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
        return f"{path.suffix[1:]} does not read ({type(exc).__name__}: {str(exc)[:120]})"
    return None


def _manifest_problems(root: Path) -> list[Partial]:
    """Manifests whose file is missing or holds other bytes, and race Parquet files without a
    manifest (the IO manager writes the file, then its manifest: a kill between leaves one)."""
    out: list[Partial] = []
    manifests = root / "_manifests"
    described: set[str] = set()
    for m in sorted(manifests.glob("*/*.json")) if manifests.is_dir() else []:
        if m.name.startswith("."):
            continue
        rel = m.relative_to(root).as_posix()
        try:
            entry = json.loads(m.read_text())
            target = root / entry["path"]
        except Exception:  # noqa: BLE001 - reported by the file scan already
            continue
        described.add(entry["path"])
        if not target.is_file():
            out.append(Partial(rel, f"manifest without its file {entry['path']}"))
            continue
        digest = hashlib.sha256(target.read_bytes()).hexdigest()[:16]
        if digest != entry.get("data_version"):
            out.append(Partial(rel, f"manifest does not match {entry['path']} (torn write pair)"))
        for extra in (entry.get("extra_files") or {}).values():
            if not (root / extra).is_file():
                out.append(Partial(rel, f"manifest names a missing extra file {extra}"))
    for p in sorted(root.glob("*/*.parquet")):
        rel = p.relative_to(root).as_posix()
        extra = "." in p.stem  # <race_key>.<name>.parquet: a file beside the asset's own
        if not extra and not p.parent.name.startswith(("_", ".")) and rel not in described:
            out.append(Partial(rel, "Parquet file without a manifest"))
    return out


def scan_partials(root: str | os.PathLike) -> list[Partial]:
    """Every file under the storage root that a crash or an outage left unfinished: temporary
    files, empty files, Parquet / npz / JSON that do not read, manifests without their file or
    not matching it, race Parquet files without a manifest (one finding per file). Empty list:
    all files whole."""
    base = Path(root)
    out: list[Partial] = []
    for p in sorted(q for q in base.rglob("*") if q.is_file()):
        rel = p.relative_to(base).as_posix()
        if p.name.endswith(TEMP_MARK):
            out.append(Partial(rel, "temporary file left by an interrupted write"))
        elif p.stat().st_size == 0:
            out.append(Partial(rel, "empty file"))
        elif problem := _unreadable(p):
            out.append(Partial(rel, problem))
    seen = {p.path for p in out}
    return out + [p for p in _manifest_problems(base) if p.path not in seen]


# ---- the week's plan ----------------------------------------------------------------------


@dataclass
class Fault:
    kind: str  # "kill" (SIGKILL the run worker) | "pg_restart" (stop + start PostgreSQL)
    step: str  # the step it lands in (LAUNCH: while the run is being launched)
    delay_s: float  # after the step starts
    fired: bool = False
    note: str = ""  # what it hit, for the report


@dataclass
class RacePlan:
    race_key: str
    faults: list[Fault] = field(default_factory=list)
    gate_fail: bool = False


def plan_week(race_keys: list[str], seed: int) -> list[RacePlan]:
    """One fault pattern per race (see the module docstring); the gate failure once, on the
    third race (the last one when there are fewer): an earlier race's good fit must exist for
    the stale fallback."""
    rng = random.Random(seed)

    def fit_delay() -> float:
        return round(rng.uniform(4.0, 12.0), 1)

    gate_index = min(2, len(race_keys) - 1)
    plans = []
    for i, key in enumerate(race_keys):
        pattern = i % 5
        if i == gate_index:
            plans.append(RacePlan(key, gate_fail=True))
        elif pattern == 0:
            plans.append(RacePlan(key, [Fault("pg_restart", "race_model_fit", fit_delay())]))
        elif pattern == 1 or pattern == 2:
            plans.append(RacePlan(key, [Fault("kill", "race_model_fit", fit_delay())]))
        elif pattern == 3:
            plans.append(
                RacePlan(
                    key,
                    [
                        Fault("pg_restart", "race_scenarios", 0.0),
                        Fault("kill", "lineup_portfolio", 0.0),
                    ],
                )
            )
        else:
            plans.append(
                RacePlan(
                    key,
                    [
                        Fault("pg_restart", LAUNCH, 0.0),
                        Fault("kill", "race_model_fit", fit_delay()),
                    ],
                )
            )
    return plans


# ---- progress -----------------------------------------------------------------------------

T0 = time.time()


def say(msg: str) -> None:
    s = int(time.time() - T0)
    print(f"[{s // 60:02d}:{s % 60:02d}] {msg}", flush=True)


def hhmm(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S")


# ---- the world: a season whose last races arrive one at a time ----------------------------


class Week:
    """The world on disk as the week goes: races not yet announced are absent; an announced
    race has its slate (entries without ownership, contest) and a lock time, no results; a race
    that was run gets its results back."""

    def __init__(self, world_dir: Path, seed: int, seasons: int, n_races: int):
        from nascar_pipeline.sources.demo_world import generate_world

        self.dir = world_dir
        self.full = generate_world(seed=seed, seasons=seasons, upcoming=False).conformed()
        ordered = self.full.races.sort_values(["race_date", "race_key"])["race_key"].astype(str)
        self.keys = ordered.tolist()[-n_races:]
        self.locks: dict[str, str] = {}  # announced race -> lock time (ISO)
        self.run: set[str] = set()

    def tables(self):
        import pandas as pd

        from nascar_pipeline.core.tables import OntologyTables

        t = self.full
        hidden = set(self.keys) - set(self.locks)
        upcoming = set(self.locks) - self.run
        races = t.races[~t.races["race_key"].isin(hidden)].copy()
        up = races["race_key"].isin(upcoming)
        races.loc[up, "status"] = "scheduled"
        races.loc[up, "laps"] = pd.NA
        races.loc[up, "lock_time"] = races.loc[up, "race_key"].map(self.locks)
        entries = t.entries[~t.entries["race_key"].isin(hidden)].copy()
        entries.loc[entries["race_key"].isin(upcoming), "dk_own_pct"] = pd.NA
        return OntologyTables(
            races=races,
            drivers=t.drivers,
            entries=entries,
            results=t.results[~t.results["race_key"].isin(hidden | upcoming)],
            contests=t.contests[~t.contests["race_key"].isin(hidden)],
        )

    def write(self) -> None:
        from nascar_pipeline.storage.atomic import write_bytes_atomic

        t = self.tables().conformed()
        # races last: a sensor tick between two files never sees a race without its slate
        for name in ("drivers", "entries", "results", "contests", "races"):
            frame = getattr(t, name)
            write_bytes_atomic(self.dir / f"{name}.parquet", frame.to_parquet(index=False))

    def announce(self, race_key: str, lock_epoch: float) -> None:
        lock = datetime.fromtimestamp(lock_epoch, UTC)
        self.locks[race_key] = lock.isoformat(timespec="seconds")  # the tables' own layout
        self.write()

    def race_is_run(self, race_key: str) -> None:
        self.run.add(race_key)
        self.write()


# ---- the stack, the runs, the faults ------------------------------------------------------


def make_stack(pg, base: Path, week: Week, run_config: dict):
    from tests.support.daemon_stack import Stack

    class ChaosStack(Stack):
        def _seed(self) -> None:  # the week's world instead of the tests' one
            week.dir = self.world
            week.write()

    return ChaosStack(pg, base, run_config=run_config)


def race_runs(stack, race_key: str):
    from dagster import RunsFilter

    from nascar_pipeline.automation.policies import RACE_JOB_NAME, TAG_RACE

    records = stack.instance.get_run_records(
        RunsFilter(tags={TAG_RACE: race_key}, job_name=RACE_JOB_NAME)
    )
    return [r.dagster_run for r in sorted(records, key=lambda r: r.create_timestamp)]


def retry_pending(runs) -> bool:
    """A failed run that run retries will re-execute and has not yet."""
    return any(r.is_complete_and_waiting_to_retry for r in runs)


def worker_pid(instance, run_id: str) -> int | None:
    from dagster._core.events import DagsterEventType

    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT).records
    for rec in records:
        m = re.search(r"Started process for run \(pid: (\d+)\)", rec.event_log_entry.message)
        if m:
            return int(m.group(1))
    return None


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def running_steps(stack, run_id: str) -> list[str]:
    from tests.support.daemon_stack import step_spans

    return [k for k, (_, end) in step_spans(stack, run_id).items() if end is None]


def fire(fault: Fault, stack, run, pg_down_s: float) -> bool:
    """Inject the fault into `run` now; False when it cannot land yet (no worker pid)."""
    if fault.kind == "kill":
        pid = worker_pid(stack.instance, run.run_id)
        if pid is None:
            return False
        inside = running_steps(stack, run.run_id)
        for p in [pid, *descendants(pid)]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        fault.note = (
            f"SIGKILL worker pid {pid} of run {run.run_id[:8]} inside {inside or 'no step'}"
        )
    else:
        inside = running_steps(stack, run.run_id) if run.status.value == "STARTED" else []
        t = time.monotonic()
        stack.pg.stop()
        time.sleep(pg_down_s)
        stack.pg.start()
        fault.note = (
            f"PostgreSQL down {time.monotonic() - t:.1f} s while run {run.run_id[:8]} was "
            f"{run.status.value}" + (f" inside {inside}" if inside else "")
        )
    fault.fired = True
    say(f"CHAOS {fault.note}")
    return True


def due(fault: Fault, run, spans: dict, now: float) -> bool:
    if fault.step == LAUNCH:
        return run.status.value in ("QUEUED", "NOT_STARTED", "STARTING", "STARTED")
    if run.status.value != "STARTED":
        return False
    # the step, or a later one when the poll missed a short step
    later = RACE_STEPS[RACE_STEPS.index(fault.step) :]
    starts = [spans[s][0] for s in later if s in spans]
    return bool(starts) and now >= min(starts) + fault.delay_s


def race_ready(stack, race_key: str, content_hash: str) -> bool:
    """What race_readiness_sensor checks, and the lineups readable on disk."""
    from nascar_pipeline.automation.readiness import race_readiness
    from nascar_pipeline.storage.layout import StorageLayout

    if race_readiness(stack.instance, race_key, content_hash):
        return False
    try:
        return len(StorageLayout(stack.storage).read_asset("lineup_portfolio", race_key)) > 0
    except Exception:  # noqa: BLE001 - not there, or not whole
        return False


@dataclass
class RaceLog:
    plan: RacePlan
    lock: float
    announced: float
    first_run: float | None = None
    ready_at: float | None = None
    settled: float | None = None
    run_ids: list[str] = field(default_factory=list)
    fit: dict = field(default_factory=dict)


class Watch:
    """Prints what happens to the runs, the steps and the alerts while a race is in play."""

    def __init__(self, stack, receiver):
        self.stack, self.receiver = stack, receiver
        self.status: dict[str, str] = {}
        self.steps: dict[tuple[str, str], tuple] = {}
        self.alerts_seen = 0

    def runs(self, runs) -> None:
        for r in runs:
            if self.status.get(r.run_id) != r.status.value:
                how = r.tags.get("nascar/trigger", "?")
                retry = r.tags.get("dagster/retry_number")
                extra = f", retry {retry} of {r.parent_run_id[:8]}" if retry else ""
                reason = r.tags.get("dagster/failure_reason")
                extra += f", {reason}" if reason and r.status.value == "FAILURE" else ""
                say(f"  run {r.run_id[:8]} ({how}{extra}): {r.status.value}")
                self.status[r.run_id] = r.status.value

    def step_lines(self, run_id: str, spans: dict) -> None:
        for step, (start, end) in sorted(spans.items(), key=lambda kv: kv[1][0]):
            if self.steps.get((run_id, step)) == (start, end):
                continue
            if end is None:
                say(f"    {step} started")
            else:
                say(f"    {step} done in {end - start:.1f} s")
            self.steps[(run_id, step)] = (start, end)

    def alerts(self) -> None:
        for body in self.receiver.bodies[self.alerts_seen :]:
            a = body.get("alert", {})
            say(f"  ALERT {a.get('race_key')}: {a.get('cause')} - {a.get('title')}")
        self.alerts_seen = len(self.receiver.bodies)


def play_race(stack, week: Week, plan: RacePlan, args, watch: Watch, configs) -> RaceLog:
    from tests.support.daemon_stack import step_spans

    run_yaml = stack.base / "race_run.yaml"
    if plan.gate_fail:
        run_yaml.write_text(configs["gate_fail"])
    lock = time.time() + args.lock_minutes * 60
    week.announce(plan.race_key, lock)
    log = RaceLog(plan, lock, time.time())
    content_hash = str(stack.races().set_index("race_key").loc[plan.race_key, "content_hash"])
    say(
        f"race {plan.race_key}: slate in, lock {hhmm(lock)} UTC (in {args.lock_minutes:g} min)"
        + ("; its fit is forced to fail the gate" if plan.gate_fail else "")
    )
    deadline = lock + args.race_timeout_minutes * 60
    last_ready_poll = 0.0
    while time.time() < deadline:
        runs = race_runs(stack, plan.race_key)
        watch.runs(runs)
        watch.alerts()
        if runs and log.first_run is None:
            log.first_run = time.time()
            if plan.gate_fail:
                run_yaml.write_text(configs["normal"])
        live = [r for r in runs if not r.is_finished]
        active = live[-1] if live else None
        if active is not None:
            spans = step_spans(stack, active.run_id)
            watch.step_lines(active.run_id, spans)
            for fault in plan.faults:
                if not fault.fired and due(fault, active, spans, time.time()):
                    fire(fault, stack, active, args.pg_down)
                    break
        now = time.time()
        if log.ready_at is None and runs and now - last_ready_poll >= 2:
            last_ready_poll = now
            if race_ready(stack, plan.race_key, content_hash):
                log.ready_at = now
                lead = (lock - now) / 60
                say(
                    f"race {plan.race_key}: READY {now - log.announced:.0f} s after its slate"
                    f" ({lead:.1f} min before lock)"
                    if now < lock
                    else f"race {plan.race_key}: ready only after its lock"
                )
        over = runs and not live and not retry_pending(runs)
        if over and (log.ready_at is not None or now > lock):
            break
        time.sleep(args.poll)
    if plan.gate_fail:  # the stale-model alert comes from the readiness sensor's next tick
        wait_alert(watch, plan.race_key, "stale_model", 90)
    log.settled = time.time()
    log.run_ids = [r.run_id for r in race_runs(stack, plan.race_key)]
    log.fit = fit_metadata(stack, plan.race_key)
    if log.ready_at is None:
        say(f"race {plan.race_key}: NOT READY at its lock")
    week.race_is_run(plan.race_key)
    say(f"race {plan.race_key}: locked and run; results in")
    return log


def wait_alert(watch: Watch, race_key: str, cause: str, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        watch.alerts()
        if any(
            b.get("alert", {}).get("race_key") == race_key and b["alert"].get("cause") == cause
            for b in watch.receiver.bodies
        ):
            return
        time.sleep(1)


def fit_metadata(stack, race_key: str) -> dict:
    from dagster import AssetKey, AssetRecordsFilter

    records = stack.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("race_model_fit"), asset_partitions=[race_key]),
        limit=1,
    ).records
    if not records:
        return {}
    meta = records[0].asset_materialization.metadata

    def value(name, default=None):
        return meta[name].value if name in meta else default

    attempts = value("attempts", []) or []
    return {
        "attempts": len(attempts),
        "gate_passed": value("gate_passed"),
        "stale_model": value("stale_model"),
        "stale_from": (value("stale_from", {}) or {}).get("race_key", ""),
        "fit_seconds": round(sum(float(a.get("seconds", 0)) for a in attempts), 1),
        "rhat_max": value("rhat_max"),
    }


def wait_all_runs(stack, timeout: float) -> None:
    from dagster import DagsterRunStatus

    from tests.support.daemon_stack import wait_for

    unfinished = [
        DagsterRunStatus.QUEUED,
        DagsterRunStatus.NOT_STARTED,
        DagsterRunStatus.STARTING,
        DagsterRunStatus.STARTED,
        DagsterRunStatus.CANCELING,
    ]

    def quiet():
        runs = stack.runs()
        return not stack.runs(statuses=unfinished) and not retry_pending(runs)

    try:
        wait_for(quiet, timeout, 2, "every run (backtests, retries) to end")
    except AssertionError as exc:
        say(f"WARNING: {exc}")


# ---- the report -----------------------------------------------------------------------------


def report(stack, logs: list[RaceLog], receiver, partials: list[Partial], wall_s: float) -> dict:
    from nascar_pipeline.automation.policies import RACE_JOB_NAME

    runs = stack.runs()
    alerts = Counter(b.get("alert", {}).get("cause", "?") for b in receiver.bodies)
    stale_alerted = {
        b["alert"]["race_key"]
        for b in receiver.bodies
        if b.get("alert", {}).get("cause") == "stale_model"
    }
    ready = [lg for lg in logs if lg.ready_at is not None and lg.ready_at < lg.lock]
    unexplained = [
        lg.plan.race_key for lg in logs if lg not in ready and lg.plan.race_key not in stale_alerted
    ]
    failed = [r for r in runs if r.status.value == "FAILURE"]
    figures = {
        "races_ready_before_lock": len(ready),
        "races": len(logs),
        "races_not_ready_unexplained": unexplained,
        "alerts_by_cause": dict(sorted(alerts.items())),
        "runs": len(runs),
        "runs_by_job": dict(Counter(r.job_name for r in runs)),
        "runs_retried": sum(int(r.tags.get("dagster/retry_number", "0")) > 0 for r in runs),
        "runs_rerequested_by_schedule": sum(
            r.job_name == RACE_JOB_NAME and r.tags.get("nascar/trigger") == "schedule" for r in runs
        ),
        "runs_failed": len(failed),
        "runs_failed_reasons": dict(
            Counter(r.tags.get("dagster/failure_reason", "untagged") for r in failed)
        ),
        "partial_files": len(partials),
        "partial_file_list": [f"{p.path}: {p.problem}" for p in partials],
        "faults_planned": sum(len(lg.plan.faults) for lg in logs),
        "faults_fired": sum(f.fired for lg in logs for f in lg.plan.faults),
        "wall_s": round(wall_s, 1),
        "load_avg_end": round(os.getloadavg()[0], 2),
        "per_race": [
            {
                "race": lg.plan.race_key,
                "to_first_run_s": _delta(lg.announced, lg.first_run),
                "to_ready_s": _delta(lg.announced, lg.ready_at),
                "ready_min_before_lock": round((lg.lock - lg.ready_at) / 60, 1)
                if lg.ready_at
                else None,
                "race_runs": len(lg.run_ids),
                "faults": [f.note or f"{f.kind} at {f.step}: did not fire" for f in lg.plan.faults],
                "gate_forced_to_fail": lg.plan.gate_fail,
                **{f"fit_{k}": v for k, v in lg.fit.items()},
            }
            for lg in logs
        ],
    }
    return figures


def _delta(a: float, b: float | None) -> float | None:
    return round(b - a, 1) if b is not None else None


def print_report(f: dict) -> None:
    print("\n==== chaos race week ====", flush=True)
    print(f"races ready before their simulated lock: {f['races_ready_before_lock']}/{f['races']}")
    if f["races_not_ready_unexplained"]:
        print(f"  not ready, no stale-model alert: {', '.join(f['races_not_ready_unexplained'])}")
    alerts = ", ".join(f"{k} {v}" for k, v in f["alerts_by_cause"].items()) or "none"
    print(f"alerts sent: {sum(f['alerts_by_cause'].values())} ({alerts})")
    print(
        f"runs: {f['runs']} {f['runs_by_job']}; retried (run retries): {f['runs_retried']}; "
        f"re-requested by pre_lock_schedule: {f['runs_rerequested_by_schedule']}"
    )
    print(f"runs failed: {f['runs_failed']} {f['runs_failed_reasons'] or ''}")
    print(f"faults injected: {f['faults_fired']}/{f['faults_planned']} (+ 1 forced gate failure)")
    print(f"files left partial: {f['partial_files']}")
    for line in f["partial_file_list"]:
        print(f"  {line}")
    print(f"wall time: {f['wall_s'] / 60:.1f} min (load average at the end {f['load_avg_end']})")
    for r in f["per_race"]:
        fit = f"fit {r.get('fit_attempts')} attempt(s) {r.get('fit_fit_seconds')} s" + (
            f", STALE model of {r['fit_stale_from']}" if r.get("fit_stale_model") else ""
        )
        ready = (
            f"ready {r['to_ready_s']} s after its slate, {r['ready_min_before_lock']} min before lock"
            if r["to_ready_s"] is not None
            else "NOT ready"
        )
        print(
            f"  {r['race']}: first run after {r['to_first_run_s']} s, {ready}; {r['race_runs']} run(s); {fit}"
        )
        for note in r["faults"]:
            print(f"      {note}")


# ---- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--races", type=int, default=5, help="races in the week (>= 2; default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault moments (default 0)")
    p.add_argument("--keep", action="store_true", help="keep the work folder and the database")
    p.add_argument(
        "--lock-minutes",
        type=float,
        default=20.0,
        help="a race locks this long after its slate appears (default 20: the fit alone takes "
        "1.5 min on 2 idle cores, 6-8 min on 2 cores at load 15-20)",
    )
    p.add_argument("--pg-down", type=float, default=5.0, help="seconds PostgreSQL stays down")
    p.add_argument("--race-timeout-minutes", type=float, default=15.0, help="after lock, at most")
    p.add_argument("--world-seed", type=int, default=3, help="demo world seed (default 3)")
    p.add_argument("--seasons", type=int, default=1, help="demo world seasons (default 1)")
    p.add_argument("--poll", type=float, default=0.5, help="seconds between looks at the runs")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    args = p.parse_args(argv)
    if args.races < 2:
        p.error("--races must be at least 2 (the stale fallback needs an earlier good fit)")

    import yaml

    from tests.support.daemon_stack import RACE_RUN_OPS
    from tests.support.services.postgres import PostgresServer
    from tests.support.webhook import Receiver

    normal = {"ops": RACE_RUN_OPS}
    gate_fail = {
        "ops": {
            **RACE_RUN_OPS,
            "race_model_fit": {
                "config": {**RACE_RUN_OPS["race_model_fit"]["config"], **GATE_FAIL_FIT}
            },
        }
    }
    configs = {"normal": yaml.safe_dump(normal), "gate_fail": yaml.safe_dump(gate_fail)}
    base = Path(tempfile.mkdtemp(prefix="chaos-race-week-"))
    receiver = Receiver()
    settings_env = {
        "NASCAR_ALERT_WEBHOOK_URL": receiver.url,
        "NASCAR_READY_HOURS_BEFORE_LOCK": f"{READY_MINUTES_BEFORE_LOCK / 60:.4f}",
    }
    old_env = {k: os.environ.get(k) for k in settings_env}
    os.environ.update(settings_env)
    say(f"work folder {base}; load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores")
    pg = PostgresServer().start()
    say(f"PostgreSQL {pg.port} up (data {pg.data})")
    week = Week(base / "world", args.world_seed, args.seasons, args.races)
    plans = plan_week(week.keys, args.seed)
    stack = None
    logs: list[RaceLog] = []
    started = time.time()
    try:
        stack = make_stack(pg, base, week, normal)
        say("code server and dagster-daemon up; waiting for race_sensor's first tick")
        from nascar_pipeline.assets.partitions import RACES_PARTITIONS_NAME
        from tests.support.daemon_stack import wait_for

        n_races = len(week.tables().races)
        wait_for(
            lambda: len(stack.instance.get_dynamic_partitions(RACES_PARTITIONS_NAME)) >= n_races,
            300,
            2,
            "race_sensor to add the season's races",
        )
        say(f"{n_races} races are partitions; the week: {', '.join(week.keys)}")
        watch = Watch(stack, receiver)
        for i, plan in enumerate(plans, 1):
            say(f"---- race {i}/{len(plans)} ----")
            logs.append(play_race(stack, week, plan, args, watch, configs))
        say("week over: waiting for the last runs (backtests) to end")
        wait_all_runs(stack, 900)
        watch.alerts()
        partials = scan_partials(stack.storage)
        figures = report(stack, logs, receiver, partials, time.time() - started)
    finally:
        if stack is not None:
            stack.close()
        receiver.close()
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if args.keep:
            pg.stop()
            say(f"kept: {base} (world, storage, logs, dagster_home) and PostgreSQL data {pg.base}")
        else:
            pg.cleanup()
            shutil.rmtree(base, ignore_errors=True)
    print_report(figures)
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 1 if figures["partial_files"] or figures["races_not_ready_unexplained"] else 0


if __name__ == "__main__":
    sys.exit(main())
