"""`nascar-pipeline backfill`: one race_job run per race, queued at low priority.

    nascar-pipeline backfill --season 2025
    nascar-pipeline backfill --races 2025-bristol-food-city-500,2025-daytona-daytona-500
    nascar-pipeline backfill --season 2025 --dry-run        # print the plan, submit nothing
    nascar-pipeline backfill --season 2025 --select race_snapshot   # a subset of the race job
    nascar-pipeline backfill --races K --config run.yaml    # run config (e.g. MCMC draws)

Runs are submitted through the instance ($DAGSTER_HOME, default <NASCAR_PIPELINE_HOME>/dagster)
to its run queue with dagster/priority=-1, so live races (priority 0/1) are dequeued first; the
daemon launches them within the concurrency limits. Re-running the command is idempotent: a race
whose current slate is already materialized, or that has a queued or running race_job run, is
skipped (use --force to queue it anyway).

The code location comes from workspace.yaml when --workspace is given (production: the gRPC
server), else from the module nascar_pipeline.definitions.

Dagster's own equivalents (no idempotence, no priority unless tagged):
    dagster job backfill -m nascar_pipeline.definitions -j race_job \
        --partitions k1,k2 --tags '{"dagster/priority": "-1"}' --noprompt
    dg launch --job race_job --partition k1
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field

from nascar_pipeline.errors import UserInputError

LOCATION_NAME = "nascar_pipeline"


def register(sub) -> None:
    p = sub.add_parser("backfill", help="queue one race_job run per race (low priority)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--season",
        type=int,
        action="append",
        metavar="YEAR",
        help="every race of a season (repeatable)",
    )
    what.add_argument("--races", type=str, metavar="K1,K2,...", help="comma-separated race keys")
    p.add_argument(
        "--force", action="store_true", help="queue races even when current or already queued"
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan; submit nothing")
    p.add_argument(
        "--workspace",
        "-w",
        type=str,
        default=None,
        help="workspace.yaml to load the code location from",
    )
    p.add_argument(
        "--location",
        type=str,
        default=LOCATION_NAME,
        help=f"code location name (default {LOCATION_NAME})",
    )
    p.add_argument(
        "--select",
        type=str,
        default=None,
        metavar="ASSET,...",
        help="materialize only these race_job assets (default: all)",
    )
    p.add_argument(
        "--config",
        type=str,
        default=None,
        metavar="FILE",
        help="run config YAML for every run (e.g. ops: {race_model_fit: ...}); "
        "default: the file in NASCAR_RACE_RUN_CONFIG, as the sensors use",
    )
    p.set_defaults(func=run)


@dataclass
class BackfillPlan:
    backfill_id: str
    submit: dict[str, str] = field(default_factory=dict)  # race_key -> slate hash
    skipped: dict[str, str] = field(default_factory=dict)  # race_key -> why
    run_ids: dict[str, str] = field(default_factory=dict)


def select_races(races, seasons: list[int] | None, race_keys: str | None):
    """The rows of list_races() the arguments name; unknown keys are a user error."""
    if seasons:
        chosen = races[races["season"].astype("Int64").isin(seasons)]
        if chosen.empty:
            known = sorted({int(s) for s in races["season"].dropna()})
            raise UserInputError(
                f"--season {', '.join(map(str, seasons))}: no races "
                f"(seasons in the source: {known})"
            )
        return chosen
    keys = [k.strip() for k in (race_keys or "").split(",") if k.strip()]
    if not keys:
        raise UserInputError("--races: give at least one race key")
    unknown = [k for k in keys if k not in set(races["race_key"].astype(str))]
    if unknown:
        raise UserInputError(f"--races: unknown race key(s): {', '.join(unknown)}")
    return (
        races[races["race_key"].astype(str).isin(keys)]
        .set_index("race_key", drop=False)
        .loc[keys]
        .reset_index(drop=True)
    )


def _default_dagster_home() -> None:
    """Unset DAGSTER_HOME: the local instance under the pipeline home (written for Dagster)."""
    from nascar_pipeline.settings import get_settings

    if get_settings().dagster_home is None:
        from nascar_pipeline.commands.dev import prepare_local_dagster_home

        os.environ["DAGSTER_HOME"] = str(prepare_local_dagster_home())


def list_source_races():
    """list_races() through the same race_source resource the code location uses."""
    from dagster import build_resources

    from nascar_pipeline import definitions

    # Built from the environment now (not the `defs` bound when the module was first imported).
    resource = definitions.race_source_resource()
    with build_resources({"race_source": resource}) as res:
        return res.race_source.source().list_races()


def plan_backfill(instance, races, race_job_asset_keys, force: bool = False) -> BackfillPlan:
    from nascar_pipeline.automation import state
    from nascar_pipeline.automation.policies import RACE_JOB_NAME

    plan = BackfillPlan(backfill_id=f"bf-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}")
    hashes = dict(zip(races["race_key"].astype(str), races["content_hash"].astype(str)))
    complete = set() if force else state.races_complete(instance, hashes, race_job_asset_keys)
    in_flight = {} if force else state.in_flight_partitions(instance, RACE_JOB_NAME)
    for key, h in hashes.items():
        if key in in_flight:
            plan.skipped[key] = "queued or running"
        elif key in complete:
            plan.skipped[key] = "current slate already materialized"
        else:
            plan.submit[key] = h
    return plan


def _create_run(
    instance,
    location,
    repo,
    job_name: str,
    run_config: dict,
    tags: dict,
    asset_selection,
    asset_check_selection=None,
):
    """A run of the remote job (or of its asset subset, optionally with only some of the asset
    checks), as `dagster job launch` creates one."""
    from dagster._core.definitions.selector import JobSubsetSelector

    selector = JobSubsetSelector(
        location_name=location.name,
        repository_name=repo.name,
        job_name=job_name,
        op_selection=None,
        asset_selection=asset_selection,
        asset_check_selection=asset_check_selection,
    )
    remote_job = location.get_job(selector)
    plan = location.get_execution_plan(
        remote_job, run_config, step_keys_to_execute=None, known_state=None, instance=instance
    )
    snap = plan.execution_plan_snapshot
    return instance.create_run(
        job_name=job_name,
        run_id=None,
        run_config=run_config,
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


def submit_backfill(
    instance,
    plan: BackfillPlan,
    workspace_file: str | None,
    location_name: str = LOCATION_NAME,
    asset_selection=None,
    run_config: dict | None = None,
    asset_check_selection=None,
) -> BackfillPlan:
    """Create and submit one race_job run per planned race through the instance's queue.
    `asset_check_selection` (check keys; default: every check of the selected assets)."""
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import ModuleTarget, WorkspaceFileTarget

    from nascar_pipeline.assets.partitions import RACES_PARTITIONS_NAME
    from nascar_pipeline.automation.policies import (
        PARTITION_TAG,
        PRIORITY_BACKFILL,
        RACE_JOB_NAME,
        TAG_BACKFILL,
        race_run_tags,
    )

    if not plan.submit:
        return plan
    existing = set(instance.get_dynamic_partitions(RACES_PARTITIONS_NAME))
    missing = [k for k in plan.submit if k not in existing]
    if missing:
        instance.add_dynamic_partitions(RACES_PARTITIONS_NAME, missing)
    target = (
        WorkspaceFileTarget(paths=[workspace_file])
        if workspace_file
        else ModuleTarget(
            module_name="nascar_pipeline.definitions",
            attribute=None,
            working_directory=None,
            location_name=location_name,
        )
    )
    with WorkspaceProcessContext(instance, target) as process_ctx:
        workspace = process_ctx.create_request_context()
        location = workspace.get_code_location(location_name)
        repo = next(iter(location.get_repositories().values()))
        for key, h in plan.submit.items():
            tags = {
                PARTITION_TAG: key,
                TAG_BACKFILL: plan.backfill_id,
                **race_run_tags(key, h, "backfill", PRIORITY_BACKFILL),
            }
            run = _create_run(
                instance,
                location,
                repo,
                RACE_JOB_NAME,
                run_config or {},
                tags,
                asset_selection,
                asset_check_selection,
            )
            instance.submit_run(run.run_id, workspace)
            plan.run_ids[key] = run.run_id
    return plan


def _read_run_config(path: str | None) -> dict:
    if not path:
        return {}
    import yaml

    try:
        with open(path) as fh:
            data = yaml.safe_load(fh) or {}
    except OSError as exc:
        raise UserInputError(f"file {path}: cannot read run config ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise UserInputError(f"file {path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise UserInputError(f"file {path}: run config must be a mapping")
    return data


def run(args) -> int:
    from dagster import DagsterInstance
    from dagster._core.run_coordinator import QueuedRunCoordinator

    from nascar_pipeline.automation.policies import RACE_JOB_NAME
    from nascar_pipeline.automation.pools import apply_pool_limits
    from nascar_pipeline.automation.state import job_asset_keys
    from nascar_pipeline.definitions import defs
    from nascar_pipeline.settings import get_settings

    if args.workspace and not os.path.isfile(args.workspace):
        raise UserInputError(f"file {args.workspace}: workspace file not found")
    _default_dagster_home()
    races = select_races(list_source_races(), args.season, args.races)
    with DagsterInstance.get() as instance:
        if not isinstance(instance.run_coordinator, QueuedRunCoordinator):
            raise UserInputError(
                f"{get_settings().dagster_home}/dagster.yaml: the instance has no run queue "
                "(QueuedRunCoordinator); backfills are queued for the daemon to run"
            )
        asset_keys = job_asset_keys(defs.get_repository_def(), RACE_JOB_NAME)
        selection = None
        if args.select:
            from dagster import AssetKey

            names = [n.strip() for n in args.select.split(",") if n.strip()]
            unknown = [n for n in names if AssetKey(n) not in asset_keys]
            if unknown:
                raise UserInputError(
                    f"--select: not race_job assets: {', '.join(unknown)} "
                    f"(known: {', '.join(sorted(k.path[-1] for k in asset_keys))})"
                )
            selection = asset_keys = {AssetKey(n) for n in names}
        from nascar_pipeline.automation.policies import race_run_config

        run_config = _read_run_config(args.config) if args.config else race_run_config()
        if selection and isinstance(run_config.get("ops"), dict):
            # A subset run takes config only for the ops it runs.
            names = {k.path[-1] for k in selection}
            run_config = {
                **run_config,
                "ops": {k: v for k, v in run_config["ops"].items() if k in names},
            }
        plan = plan_backfill(instance, races, asset_keys, force=args.force)
        for key, why in plan.skipped.items():
            print(f"skip   {key}: {why}")
        if args.dry_run:
            for key in plan.submit:
                print(f"would queue {key}")
            print(f"dry run: {len(plan.submit)} to queue, {len(plan.skipped)} skipped")
            return 0
        apply_pool_limits(instance)
        submit_backfill(instance, plan, args.workspace, args.location, selection, run_config)
        for key, run_id in plan.run_ids.items():
            print(f"queued {key}: run {run_id}")
        print(
            f"backfill {plan.backfill_id}: {len(plan.run_ids)} run(s) queued at priority -1, "
            f"{len(plan.skipped)} skipped"
        )
    return 0
