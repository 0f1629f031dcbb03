"""A Dagster daemon + webserver stack on a real PostgreSQL for the orchestration tests and benchmarks, and helpers that read runs' outcomes from its instance."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.support.run_configs import FAST_DFS_OPS
from tests.support.services.postgres import free_port

REPO = Path(__file__).resolve().parents[2]


ARTIFACTS = REPO / "artifacts"


TEST_POOL_LIMITS = "neo4j=1,mcmc=1"  # tight, so overlapping steps would show


SUBSET_ASSETS = ["race_snapshot"]


RACE_RUN_OPS = {
    "race_model_fit": {
        "config": {
            "draws": 750,
            "warmup": 400,
            "chains": 4,
            "svi_steps": 1500,
            "target_accept": 0.95,
        }
    },
    "race_scenarios": {"config": {"scenarios": 2000, "seed": 1}},
    **FAST_DFS_OPS,
}


SUBSET = ["--select", ",".join(SUBSET_ASSETS)]


def wait_for(predicate, timeout: float, interval: float = 1.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


class Stack:
    """Postgres + gRPC code server + daemon, with a DagsterInstance in the test process."""

    def __init__(self, pg, base: Path, run_config: dict | None = None, *, webserver: bool = False):
        from nascar_pipeline.commands.dev import start_stack

        self.pg = pg
        self.base = base
        self.db = pg.create_database(f"daemon_{os.getpid()}_{int(time.time())}")
        self.home = base / "dagster_home"
        self.home.mkdir()
        shutil.copy(REPO / "dagster.yaml", self.home / "dagster.yaml")  # unmodified
        self.world = base / "world"
        self.storage = base / "storage"
        self.grpc_port = free_port()
        self.env = {
            **os.environ,
            **pg.env(self.db),
            "DAGSTER_HOME": str(self.home),
            "DAGSTER_GRPC_HOST": "127.0.0.1",
            "DAGSTER_GRPC_PORT": str(self.grpc_port),
            "NASCAR_PIPELINE_HOME": str(base / "home"),
            "NASCAR_WORLD_DIR": str(self.world),
            "STORAGE_ROOT": str(self.storage),
            "NASCAR_SENSOR_INTERVAL_SECONDS": "5",
            "NASCAR_POOL_LIMITS": TEST_POOL_LIMITS,
            "NASCAR_RACE_RUN_CONFIG": str(base / "race_run.yaml"),
            "NASCAR_JAX_CACHE": os.environ.get(
                "NASCAR_JAX_CACHE", str(REPO / ".cache" / "jax-tests")
            ),
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("NEO4J_URI", None)
        (base / "race_run.yaml").write_text(
            yaml.safe_dump({"ops": RACE_RUN_OPS} if run_config is None else run_config)
        )
        self._seed()
        self._old_env = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        from dagster import DagsterInstance

        from nascar_pipeline.automation.pools import apply_pool_limits

        self.instance = DagsterInstance.get()
        apply_pool_limits(self.instance)
        self.logs = base / "logs"
        # The webserver (for the backfill command, which submits through its GraphQL API).
        self.url = None
        web_port = free_port() if webserver else 0
        self.procs = start_stack(
            self.env,
            REPO / "workspace.yaml",
            "127.0.0.1",
            web_port,
            self.grpc_port,
            None,
            self.logs,
            webserver=webserver,
        )
        if webserver:
            self.url = f"http://127.0.0.1:{web_port}"
            wait_for(self._webserver_up, 180, 1, "the Dagster webserver")

    def _seed(self) -> None:
        from nascar_pipeline.sources.demo_world import generate_world
        from nascar_pipeline.sources.embedded import write_world

        # seed 3: the model tests' world, whose fit passes the convergence gate
        write_world(generate_world(seed=3, seasons=1), self.world)

    def _webserver_up(self) -> bool:
        import urllib.request

        try:
            urllib.request.urlopen(f"{self.url}/server_info", timeout=2)
            return True
        except OSError:
            return False

    def races(self):
        from nascar_pipeline.sources.embedded import EmbeddedWorldSource

        return EmbeddedWorldSource(self.world).list_races()

    def close(self) -> None:
        from nascar_pipeline.commands.dev import stop_stack

        stop_stack(self.procs)
        self.instance.dispose()
        keep = ARTIFACTS / "daemon-logs"  # for a post-mortem of a failed CI run
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(self.logs, keep, dirs_exist_ok=True)
        for k, v in self._old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def log_tail(self, n: int = 4000) -> str:
        out = []
        for p in sorted(self.logs.glob("*.log")):
            out.append(f"--- {p.name}\n{p.read_text(errors='replace')[-n:]}")
        return "\n".join(out)

    # ---- queries ---------------------------------------------------------------------
    def runs(self, **filter_kwargs):
        from dagster import RunsFilter

        return [r.dagster_run for r in self.instance.get_run_records(RunsFilter(**filter_kwargs))]

    def backfill(self, *args: str) -> str:
        """`nascar-pipeline backfill ARGS` against this stack's webserver (Stack(webserver=True))."""
        assert self.url, "the backfill command submits through the webserver: Stack(webserver=True)"
        cmd = [
            str(Path(sys.executable).with_name("nascar-pipeline")),
            "backfill",
            *args,
            "--dagster-url",
            self.url,
        ]
        out = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, f"{out.stdout}\n{out.stderr}"
        return out.stdout


def failed_blocking_checks(stack, run_id) -> list[str]:
    from dagster._core.events import DagsterEventType

    recs = stack.instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    out = []
    for r in recs:
        data = r.event_log_entry.dagster_event.event_specific_data
        if not data.passed:
            problems = data.metadata.get("problems")
            out.append(data.check_name + (f": {problems.value}" if problems is not None else ""))
    return sorted(out)


def run_seconds(instance, run_id) -> float:
    stats = instance.get_run_stats(run_id)
    return stats.end_time - stats.launch_time


def run_group(stack, run_id):
    group = stack.instance.get_run_group(run_id)
    return list(group[1]) if group else [stack.instance.get_run_by_id(run_id)]


def group_outcome(stack, run_id) -> str | None:
    """SUCCESS once any run of the run's group (it and its retries) succeeded; else the status
    of its last run once that is final (failed with no retry to come); None while pending."""
    from dagster import DagsterRunStatus

    runs = run_group(stack, run_id)
    if any(r.status == DagsterRunStatus.SUCCESS for r in runs):
        return "SUCCESS"
    last = max(runs, key=lambda r: int(r.tags.get("dagster/retry_number", "0")))
    if not last.is_finished:
        return None
    if last.status == DagsterRunStatus.FAILURE and last.tags.get("dagster/will_retry") != "false":
        return None  # the retry daemon has not decided / launched
    return last.status.value


def step_spans(stack, run_id) -> dict[str, tuple[float, float | None]]:
    """step key -> (STEP_START time, STEP_SUCCESS/STEP_FAILURE time or None)."""
    from dagster._core.events import DagsterEventType

    spans: dict[str, list] = {}
    for rec in stack.instance.get_records_for_run(run_id).records:
        e = rec.event_log_entry
        if not e.is_dagster_event or not e.step_key:
            continue
        t = e.dagster_event.event_type
        if t == DagsterEventType.STEP_START:
            spans.setdefault(e.step_key, [e.timestamp, None])[0] = e.timestamp
        elif t in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            spans.setdefault(e.step_key, [None, None])[1] = e.timestamp
    return {k: (a, b) for k, (a, b) in spans.items() if a is not None}


def submit_race_runs(
    instance,
    race_hashes: dict[str, str],
    workspace_file: str,
    *,
    backfill_tag: str,
    asset_selection=None,
    run_config: dict | None = None,
    asset_check_selection=None,
    location_name: str = "nascar_pipeline",
) -> dict[str, str]:
    """Queue one race_job run per race (race_key -> slate hash) through the instance's run
    queue, as `dagster job launch` creates runs, with the backfill tags (trigger backfill,
    priority -1, nascar/backfill=backfill_tag) and an explicit asset(-check) selection.
    Returns race_key -> run id. (What `nascar-pipeline backfill` did before it submitted native
    backfills; tests use it to start runs with a check selection a backfill cannot express.)"""
    from dagster._core.definitions.selector import JobSubsetSelector
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import WorkspaceFileTarget

    from nascar_pipeline.assets.partitions import RACES_PARTITIONS_NAME
    from nascar_pipeline.automation.policies import (
        PARTITION_TAG,
        PRIORITY_BACKFILL,
        RACE_JOB_NAME,
        TAG_BACKFILL,
        race_run_tags,
    )

    existing = set(instance.get_dynamic_partitions(RACES_PARTITIONS_NAME))
    missing = [k for k in race_hashes if k not in existing]
    if missing:
        instance.add_dynamic_partitions(RACES_PARTITIONS_NAME, missing)
    run_ids: dict[str, str] = {}
    target = WorkspaceFileTarget(paths=[workspace_file])
    with WorkspaceProcessContext(instance, target) as process_ctx:
        workspace = process_ctx.create_request_context()
        location = workspace.get_code_location(location_name)
        repo = next(iter(location.get_repositories().values()))
        remote_job = location.get_job(
            JobSubsetSelector(
                location_name=location.name,
                repository_name=repo.name,
                job_name=RACE_JOB_NAME,
                op_selection=None,
                asset_selection=asset_selection,
                asset_check_selection=asset_check_selection,
            )
        )
        snap = location.get_execution_plan(
            remote_job,
            run_config or {},
            step_keys_to_execute=None,
            known_state=None,
            instance=instance,
        ).execution_plan_snapshot
        for key, h in race_hashes.items():
            tags = {
                PARTITION_TAG: key,
                TAG_BACKFILL: backfill_tag,
                **race_run_tags(key, h, "backfill", PRIORITY_BACKFILL),
            }
            run = instance.create_run(
                job_name=RACE_JOB_NAME,
                run_id=None,
                run_config=run_config or {},
                resolved_op_selection=remote_job.resolved_op_selection,
                step_keys_to_execute=snap.step_keys_to_execute,
                op_selection=None,
                status=None,
                root_run_id=None,
                parent_run_id=None,
                tags={**remote_job.tags, **tags},
                job_snapshot=remote_job.job_snapshot,
                execution_plan_snapshot=snap,
                parent_job_snapshot=remote_job.parent_job_snapshot,
                remote_job_origin=remote_job.get_remote_origin(),
                job_code_origin=remote_job.get_python_origin(),
                asset_selection=frozenset(asset_selection) if asset_selection else None,
                asset_check_selection=(
                    frozenset(asset_check_selection) if asset_check_selection is not None else None
                ),
                asset_graph=repo.asset_graph,
            )
            instance.submit_run(run.run_id, workspace)
            run_ids[key] = run.run_id
    return run_ids
