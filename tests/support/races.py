"""Materialize race assets for one race on an ephemeral instance, and read the checks' verdicts."""

from dagster import DagsterInstance, materialize


def materialize_race(assets, race_key: str, resources: dict, *, other_races=(), **kwargs):
    """`materialize` for one race partition (the race and `other_races` registered first);
    failures are returned, not raised. kwargs go to `materialize` (run_config, selection)."""
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("races", [*other_races, race_key])
    return materialize(
        assets,
        partition_key=race_key,
        instance=instance,
        resources=resources,
        raise_on_error=False,
        **kwargs,
    )


def check_results(result) -> dict[str, bool]:
    """check name -> passed, for every asset check the run evaluated."""
    return {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
