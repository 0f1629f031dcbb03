"""`nascar-pipeline backfill`: one Dagster backfill of race_job over the races that need it.

    nascar-pipeline backfill --season 2025
    nascar-pipeline backfill --races 2025-bristol-food-city-500,2025-daytona-daytona-500
    nascar-pipeline backfill --season 2025 --dry-run        # print the plan, submit nothing
    nascar-pipeline backfill --season 2025 --select race_snapshot   # a subset of the race job
    nascar-pipeline backfill --races K --config run.yaml    # run config (e.g. MCMC draws)
    nascar-pipeline backfill --cancel BACKFILL_ID           # cancel it (as the UI does)

The backfill is a real Dagster backfill: listed on the UI's Backfills page, cancellable and
re-executable there. Dagster has no public Python API that creates one, so the command submits
it through the public GraphQL API of the running webserver (--dagster-url, default
http://127.0.0.1:3000, which `nascar-pipeline dev` serves); the daemon then queues one race_job
run per race with dagster/priority=-1, so live races (priority 0/1) are dequeued first, within
the concurrency limits. The plan (what is skipped) is read from the instance ($DAGSTER_HOME,
default <NASCAR_PIPELINE_HOME>/dagster), which must be the webserver's.

Re-running the command is idempotent: a race that is fresh (its current slate materialized by
every selected asset, with the assets' current code versions) or in flight (a queued or running
race_job run, or an unfinished backfill naming it) is skipped (use --force to submit it anyway).
See nascar_pipeline/automation/backfills.py.
"""

from __future__ import annotations

import os

from nascar_pipeline.errors import UserInputError

LOCATION_NAME = "nascar_pipeline"


def register(sub) -> None:
    from nascar_pipeline.automation.backfills import DEFAULT_DAGSTER_URL

    p = sub.add_parser(
        "backfill", help="submit one Dagster backfill of race_job (a run per race, low priority)"
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--season",
        type=int,
        action="append",
        metavar="YEAR",
        help="every race of a season (repeatable)",
    )
    what.add_argument("--races", type=str, metavar="K1,K2,...", help="comma-separated race keys")
    what.add_argument("--cancel", type=str, metavar="BACKFILL_ID", help="cancel a backfill")
    p.add_argument(
        "--force", action="store_true", help="submit races even when fresh or already in flight"
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan; submit nothing")
    p.add_argument(
        "--dagster-url",
        type=str,
        default=DEFAULT_DAGSTER_URL,
        metavar="URL",
        help="the Dagster webserver the backfill is submitted to through its GraphQL API "
        f"(default {DEFAULT_DAGSTER_URL}, as `nascar-pipeline dev` serves it)",
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
        from nascar_pipeline.automation.local_instance import (
            default_local_home,
            write_local_config,
        )

        os.environ["DAGSTER_HOME"] = str(write_local_config(default_local_home()))


def list_source_races():
    """list_races() through the same race_source resource the code location uses."""
    from dagster import build_resources

    from nascar_pipeline import definitions

    # Built from the environment now (not the `defs` bound when the module was first imported).
    resource = definitions.race_source_resource()
    with build_resources({"race_source": resource}) as res:
        return res.race_source.source().list_races()


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


def _selection(args, asset_keys):
    """(--select's asset keys or None, the asset keys freshness is judged on)."""
    if not args.select:
        return None, asset_keys
    from dagster import AssetKey

    names = [n.strip() for n in args.select.split(",") if n.strip()]
    unknown = [n for n in names if AssetKey(n) not in asset_keys]
    if unknown:
        raise UserInputError(
            f"--select: not race_job assets: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(k.path[-1] for k in asset_keys))})"
        )
    chosen = {AssetKey(n) for n in names}
    return chosen, chosen


def _cancel(args) -> int:
    from nascar_pipeline.automation.backfills import BackfillError, DagsterWebserver

    try:
        DagsterWebserver(args.dagster_url).cancel_backfill(args.cancel)
    except BackfillError as exc:
        raise UserInputError(str(exc)) from None
    print(f"backfill {args.cancel}: canceling (its queued runs are canceled, running ones end)")
    return 0


def run(args) -> int:
    if args.cancel:
        return _cancel(args)

    from dagster import DagsterInstance

    from nascar_pipeline.assets.partitions import RACES_PARTITIONS_NAME
    from nascar_pipeline.automation.backfills import (
        BackfillError,
        DagsterWebserver,
        plan_backfill,
        submit_race_backfill,
    )
    from nascar_pipeline.automation.policies import (
        PRIORITY_BACKFILL,
        PRIORITY_TAG,
        RACE_JOB_NAME,
        TAG_TRIGGER,
        race_run_config,
    )
    from nascar_pipeline.automation.pools import apply_pool_limits
    from nascar_pipeline.automation.state import job_asset_keys
    from nascar_pipeline.definitions import defs
    from nascar_pipeline.settings import get_settings

    _default_dagster_home()
    races = select_races(list_source_races(), args.season, args.races)
    with DagsterInstance.get() as instance:
        if type(instance.run_coordinator).__name__ != "QueuedRunCoordinator":
            raise UserInputError(
                f"{get_settings().dagster_home}/dagster.yaml: the instance has no run queue "
                "(QueuedRunCoordinator); backfills are queued for the daemon to run"
            )
        selection, judged = _selection(
            args, job_asset_keys(defs.get_repository_def(), RACE_JOB_NAME)
        )
        run_config = _read_run_config(args.config) if args.config else race_run_config()
        if selection and isinstance(run_config.get("ops"), dict):
            # A subset run takes config only for the ops it runs.
            names = {k.path[-1] for k in selection}
            run_config = {
                **run_config,
                "ops": {k: v for k, v in run_config["ops"].items() if k in names},
            }
        code_versions = {spec.key: spec.code_version for spec in defs.resolve_all_asset_specs()}
        plan = plan_backfill(
            instance,
            races,
            judged,
            force=args.force,
            code_versions=code_versions,
        )
        for key, why in plan.skipped.items():
            print(f"skip   {key}: {why}")
        for key, why in plan.code_changed.items():
            print(f"redo   {key}: {why}")
        if args.dry_run:
            for key in plan.submit:
                print(f"would queue {key}")
            print(f"dry run: {len(plan.submit)} to queue, {len(plan.skipped)} skipped")
            return 0
        if not plan.submit:
            print(f"backfill: 0 race(s) submitted, {len(plan.skipped)} skipped")
            return 0
        apply_pool_limits(instance)
        existing = set(instance.get_dynamic_partitions(RACES_PARTITIONS_NAME))
        missing = [k for k in plan.submit if k not in existing]
        if missing:
            instance.add_dynamic_partitions(RACES_PARTITIONS_NAME, missing)
    tags = {TAG_TRIGGER: "backfill", PRIORITY_TAG: str(PRIORITY_BACKFILL)}
    webserver = DagsterWebserver(args.dagster_url)
    try:
        submit_race_backfill(
            webserver,
            plan,
            tags,
            location=args.location,
            asset_selection=sorted(selection, key=lambda k: k.to_string()) if selection else None,
            run_config=run_config,
        )
    except BackfillError as exc:
        raise UserInputError(str(exc)) from None
    for key in plan.submit:
        print(f"queued {key}")
    print(
        f"backfill {plan.backfill_id}: {len(plan.submit)} race(s) submitted (one race_job run "
        f"each, priority {PRIORITY_BACKFILL}), {len(plan.skipped)} skipped"
    )
    print(f"  {webserver.url}/runs/b/{plan.backfill_id}   (cancel or re-execute it there)")
    return 0
