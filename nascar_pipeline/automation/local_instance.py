"""The Dagster instance the local commands (`dev`, `backfill`, `demo`) run against: the local
dagster.yaml they write, and the check that an instance the user points them at is complete.

"Complete" is what keeps a race from silently missing its lineups: runs go through the queue
(priorities, limits), run monitoring notices dead or hung workers and frees what they held, run
retries re-execute crashed workers, and pools are enforced at run granularity.

Why `granularity: run`: the race job runs with the in-process executor (forced by the
partitioned blocking checks, docs/dagster-limits.md), whose loop waiting for an op-level pool
slot never looks at a captured interrupt. A run terminated while waiting for the `mcmc` slot
stayed CANCELING until its worker was killed by hand, and then still held the slot. With run
granularity a run that needs a full pool waits in the queue (QUEUED, no worker): terminating it
cancels it at once, and a run's claim on a pool ends with the run itself (a killed worker's run
is marked failed by run monitoring, which ends the claim).
"""

from __future__ import annotations

from pathlib import Path

LOCAL_DAGSTER_YAML = """\
# Written by `nascar-pipeline dev` / `nascar-pipeline backfill`: the embedded default.
# Storage: Dagster's local SQLite files in this folder. Production uses the repo's dagster.yaml.
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 2
concurrency:
  runs:
    max_concurrent_runs: 2
    tag_concurrency_limits:
      - key: nascar/trigger
        value: backfill
        limit: 1
  pools:
    default_limit: 1
    # A run waiting for a pool waits in the queue, where terminating it ends it
    # (nascar_pipeline/automation/local_instance.py says why).
    granularity: run
run_monitoring:
  enabled: true
  start_timeout_seconds: 300
  # A run whose worker died while it was being terminated is marked CANCELED after this.
  cancel_timeout_seconds: 60
  max_runtime_seconds: 5400
  poll_interval_seconds: 30
  free_slots_after_run_end_seconds: 60
  max_resume_run_attempts: 0
run_retries:
  enabled: true
  max_retries: 2
  retry_on_asset_or_op_failure: false
retention:
  sensor:
    purge_after_days:
      skipped: 1
telemetry:
  enabled: false
nux:
  enabled: false
"""

CONFIG_FILE = "dagster.yaml"


class IncompleteInstanceConfig(Exception):
    """The dagster.yaml of a DAGSTER_HOME lacks settings the pipeline relies on."""


def default_local_home() -> Path:
    from nascar_pipeline.settings import get_settings

    return get_settings().home / "dagster"


def write_local_config(home: Path) -> Path:
    """Create `home` with the local dagster.yaml unless it already has one (kept if edited)."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / CONFIG_FILE
    if not cfg.exists():
        cfg.write_text(LOCAL_DAGSTER_YAML)
    return home


def missing_settings(instance) -> list[str]:
    """What the instance's dagster.yaml lacks, each as the YAML the user should add."""
    missing = []
    if type(instance.run_coordinator).__name__ != "QueuedRunCoordinator":
        missing.append("run_coordinator: QueuedRunCoordinator (runs must queue)")
    if not instance.run_monitoring_enabled:
        missing.append("run_monitoring: {enabled: true}")
    if not instance.run_retries_enabled:
        missing.append("run_retries: {enabled: true}")
    pools = (instance.get_settings("concurrency") or {}).get("pools") or {}
    if pools.get("default_limit") is None:
        missing.append("concurrency: {pools: {default_limit: 1}}")
    if pools.get("granularity") != "run":
        missing.append("concurrency: {pools: {granularity: run}}")
    return missing


def check_complete(home: Path) -> None:
    """Raise IncompleteInstanceConfig naming every missing setting of `home`'s dagster.yaml."""
    from dagster import DagsterInstance

    from nascar_pipeline.settings import get_settings

    with DagsterInstance.from_config(str(home)) as instance:
        missing = missing_settings(instance)
    if missing:
        raise IncompleteInstanceConfig(
            f"DAGSTER_HOME={home}: {home / CONFIG_FILE} lacks "
            + "; ".join(missing)
            + f". Add them (see {get_settings().home / 'dagster' / CONFIG_FILE} or the repo's "
            "dagster.yaml for a complete one), or unset DAGSTER_HOME to use the local default."
        )


def prepare_dagster_home(home: Path | None = None) -> Path:
    """The Dagster home to run against, complete: the user's DAGSTER_HOME (its dagster.yaml
    written when absent, else checked), or the local default under the pipeline home."""
    from nascar_pipeline.settings import get_settings

    chosen = home or get_settings().dagster_home or default_local_home()
    chosen = write_local_config(Path(chosen))
    check_complete(chosen)
    return chosen
