"""`nascar-pipeline demo`: the main job on embedded defaults, no services needed.

Seeds the synthetic world (if absent), registers the upcoming race as a partition in Dagster's
local instance (DAGSTER_HOME, else <home>/dagster, the one `dev` serves), runs `race_job` for
it, and prints where the output lies and what it says.
"""

from __future__ import annotations

import os


def register(sub) -> None:
    p = sub.add_parser(
        "demo", help="run the race job for the demo's upcoming race (embedded defaults)"
    )
    p.add_argument("--seed", type=int, default=7, help="seed of the synthetic world")
    p.add_argument("--race", help="race key (default: the next race without results)")
    p.add_argument("--reseed", action="store_true", help="regenerate the world even if present")
    p.add_argument("--verbose", action="store_true", help="show Dagster's full run log (DEBUG)")
    p.set_defaults(func=run)


def _prepare_home() -> None:
    """The Dagster home the demo's run is recorded in: the user's DAGSTER_HOME, else the local
    one `dev` uses (<home>/dagster), so `dev` shows the demo's run. A home without a dagster.yaml
    gets the complete local one (automation/local_instance.py): a partial file written here would
    make `dev` refuse the home later."""
    from nascar_pipeline.automation.local_instance import default_local_home, write_local_config
    from nascar_pipeline.settings import get_settings

    settings = get_settings()
    home = write_local_config(settings.dagster_home or default_local_home())
    if settings.dagster_home is None:
        # Written, not read: DagsterInstance.get() in this process finds its home here.
        os.environ["DAGSTER_HOME"] = str(home)


def _ensure_world(seed: int, reseed: bool) -> None:
    from nascar_pipeline.settings import get_settings
    from nascar_pipeline.sources.demo_world import generate_world
    from nascar_pipeline.sources.embedded import write_world

    folder = get_settings().world_dir
    if reseed or not (folder / "races.parquet").exists():
        write_world(generate_world(seed=seed), folder)
        print(f"seeded the demo world (seed {seed}) in {folder}")


def _upcoming_race(source) -> str:
    races = source.list_races()
    pending = races[~races["has_results"].astype(bool)]
    if pending.empty:
        raise SystemExit(
            "no upcoming race in the world (a world written from history files has none): "
            "pass --race, or run `nascar-pipeline demo --reseed` for the synthetic demo world"
        )
    return str(pending.iloc[0]["race_key"])


def run(args) -> int:
    import uuid

    from nascar_pipeline.commands.build import Progress, build_run_config, failure_message
    from nascar_pipeline.settings import get_settings

    # (Dagster's preview/beta warnings are filtered for every command in cli.py.)
    _prepare_home()
    if not get_settings().neo4j_configured:
        _ensure_world(args.seed, args.reseed)

    from dagster import DagsterInstance

    from nascar_pipeline.definitions import defs
    from nascar_pipeline.report import print_race_report

    race_source = defs.resources["race_source"]
    source = race_source.source() if hasattr(race_source, "source") else None
    race_key = args.race or _upcoming_race(source)
    instance = DagsterInstance.get()
    instance.add_dynamic_partitions("races", [race_key])
    job = defs.resolve_job_def("race_job")
    print(f"materializing race_job for {race_key} (Dagster home {get_settings().dagster_home})")
    # Each stage's start and end while it runs and the assets' warnings; Dagster's own run log
    # only with --verbose (every DEBUG event, as before).
    run_config = build_run_config({}, [], None, None, args.verbose)
    run_id = str(uuid.uuid4())
    steps = [k.path[-1] for k in job.asset_layer.selected_asset_keys]
    with Progress(instance, run_id, steps=steps, warnings=not args.verbose):
        result = job.execute_in_process(
            run_config=run_config,
            partition_key=race_key,
            instance=instance,
            run_id=run_id,
            raise_on_error=False,
        )
    print_race_report(race_key)
    checks = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    if checks:
        passed = sum(c.passed for c in checks)
        print(
            f"\nasset checks: {passed}/{len(checks)} passed"
            + "".join(
                f"\n  FAILED {c.asset_key.to_user_string()}:{c.check_name}"
                for c in checks
                if not c.passed
            )
        )
    if not result.success:
        print(failure_message(result, run_id, race_key).replace("build failed", "race_job FAILED"))
        return 1
    return 0
