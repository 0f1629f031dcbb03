"""`nascar-pipeline backfill` on the production-style stack: a real PostgreSQL, the repo's
dagster.yaml, the code location as its own gRPC server, `dagster-daemon run` and
`dagster-webserver` as subprocesses.

1. The command submits one native Dagster backfill (through the webserver's GraphQL API): it is
   in the instance's backfill records with the races as partitions, the priority tag and the
   asset subset; while it is unfinished a second invocation skips its races; the daemon makes one
   race_job run per race, each at priority -1; once done, a third invocation skips the races as
   fresh.
2. A backfill cancelled with `--cancel` (the UI's Cancel calls the same mutation) goes CANCELING,
   then CANCELED, and leaves no run of it queued or running.
3. Pools (granularity run, dagster.yaml): a run waiting for the `mcmc` pool waits QUEUED, and
   terminating it ends it at once; a run holding the pool whose worker is killed is failed by
   run monitoring, and the pool goes to the next run.

The backfills materialize race_snapshot only (no model fit); test 3 fits a tiny model. The
sensor's full race run is terminated at the start so it does not take the machine.
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

from tests.support.daemon_stack import SUBSET, Stack, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BACKFILL_ID_TAG = "dagster/backfill"
FIGURES: dict[str, float] = {}


@pytest.fixture(scope="module")
def stack(postgres_server, tmp_path_factory):
    from nascar_pipeline.automation.policies import TAG_TRIGGER
    from nascar_pipeline.automation.pools import apply_pool_limits

    s = Stack(postgres_server, tmp_path_factory.mktemp("native_backfill"), webserver=True)
    try:
        # neo4j=4: the backfills' race_snapshot runs need not queue behind one another (the
        # backfill command applies NASCAR_POOL_LIMITS too).
        s.env["NASCAR_POOL_LIMITS"] = "neo4j=4,mcmc=1"
        apply_pool_limits(s.instance, {"neo4j": 4, "mcmc": 1})
        # The sensor requests the upcoming race's full run at its first tick: terminate it once
        # it is queued (a full model fit would take the shared cores for minutes). Not before:
        # a run terminated between its creation and its submission has no worker to confirm
        # the cancel and stays CANCELING, holding its pools, until run monitoring's
        # cancel_timeout_seconds.
        sensor_runs = wait_for(
            lambda: (
                (r := s.runs(tags={TAG_TRIGGER: "sensor"}))
                and all(x.status.value != "NOT_STARTED" for x in r)
                and r
            ),
            180,
            0.5,
            "the sensor's race run to be queued",
        )
        for run in sensor_runs:
            s.instance.run_coordinator.cancel_run(run.run_id)
        wait_for(
            lambda: all(s.instance.get_run_by_id(r.run_id).is_finished for r in sensor_runs),
            120,
            0.5,
            "the sensor's run to end",
        )
        yield s
    finally:
        s.close()
        print(f"\nnative backfill figures: {FIGURES}")


def _backfill(stack, backfill_id):
    return {b.backfill_id: b for b in stack.instance.get_backfills(limit=50)}.get(backfill_id)


def _history(stack) -> list[str]:
    races = stack.races()
    return races[races["has_results"]]["race_key"].tolist()


def test_backfill_is_a_dagster_backfill_and_idempotent(stack):
    from dagster import AssetKey, DagsterRunStatus

    keys = _history(stack)[1:3]  # [0] has no history
    t0 = time.monotonic()
    out = stack.backfill("--races", ",".join(keys), *SUBSET)
    bf_id = re.search(r"backfill (\S+):", out).group(1)
    FIGURES["submit_s"] = round(time.monotonic() - t0, 1)

    bf = _backfill(stack, bf_id)
    assert bf is not None, f"backfill {bf_id} not in the instance's backfill records\n{out}"
    assert list(bf.partition_names) == keys
    assert bf.partition_set_origin.partition_set_name == "race_job_partition_set"
    assert list(bf.asset_selection) == [AssetKey("race_snapshot")]
    assert bf.tags["dagster/priority"] == "-1" and bf.tags["nascar/trigger"] == "backfill"

    again = stack.backfill("--races", ",".join(keys), *SUBSET)
    # Skipped as in the backfill (or, once the daemon has made its runs, as queued or running).
    in_flight = again.count(f"in backfill {bf_id}") + again.count("queued or running")
    assert in_flight == 2 and "0 race(s) submitted" in again, again

    # The daemon's backfill loop makes the runs; they run through the queue.
    runs = wait_for(
        lambda: (
            (r := stack.runs(tags={BACKFILL_ID_TAG: bf_id}))
            and len(r) == len(keys)
            and all(x.is_finished for x in r)
            and r
        ),
        240,
        1,
        f"backfill {bf_id}'s runs to finish",
    )
    FIGURES["backfill_runs_done_s"] = round(time.monotonic() - t0, 1)
    assert _backfill(stack, bf_id).status.value in ("REQUESTED", "COMPLETED_SUCCESS")
    assert sorted(r.tags["dagster/partition"] for r in runs) == sorted(keys)
    assert all(r.job_name == "race_job" for r in runs)
    assert all(r.tags["dagster/priority"] == "-1" for r in runs)
    assert all(r.status == DagsterRunStatus.SUCCESS for r in runs)

    third = stack.backfill("--races", ",".join(keys), *SUBSET)
    assert third.count("current slate already materialized") == 2, third
    assert "0 race(s) submitted" in third


def test_backfill_cancel(stack):
    """Cancelled once its runs are queued (held there: no neo4j slot), the backfill cancels
    them and ends CANCELED."""
    from dagster import DagsterRunStatus

    from nascar_pipeline.automation.pools import apply_pool_limits

    keys = _history(stack)[3:6]
    stack.env["NASCAR_POOL_LIMITS"] = "neo4j=0,mcmc=1"  # applied by the command
    try:
        out = stack.backfill("--races", ",".join(keys), *SUBSET)
        bf_id = re.search(r"backfill (\S+):", out).group(1)
        # The daemon creates each run NOT_STARTED and enqueues it a moment later: wait for all
        # of them to leave NOT_STARTED, else a run caught in between reads as not queued.
        queued = wait_for(
            lambda: (
                (r := stack.runs(tags={BACKFILL_ID_TAG: bf_id}))
                and len(r) == len(keys)
                and all(x.status != DagsterRunStatus.NOT_STARTED for x in r)
                and r
            ),
            120,
            1,
            f"backfill {bf_id}'s runs to be enqueued",
        )
        assert all(r.status == DagsterRunStatus.QUEUED for r in queued), [r.status for r in queued]
        stack.env["NASCAR_POOL_LIMITS"] = "neo4j=4,mcmc=1"
        t0 = time.monotonic()
        cancelled = stack.backfill("--cancel", bf_id)
        assert f"backfill {bf_id}: canceling" in cancelled
        assert _backfill(stack, bf_id).status.value in ("CANCELING", "CANCELED")
        wait_for(
            lambda: _backfill(stack, bf_id).status.value == "CANCELED",
            180,
            2,
            f"backfill {bf_id} to be CANCELED",
        )
        FIGURES["cancel_to_canceled_s"] = round(time.monotonic() - t0, 1)
        runs = stack.runs(tags={BACKFILL_ID_TAG: bf_id})
        assert len(runs) == len(keys)
        assert all(r.status == DagsterRunStatus.CANCELED for r in runs), [r.status for r in runs]
    finally:
        # Always give the neo4j slots back: the pool tests below need them (a failure here
        # must not starve their runs).
        stack.env["NASCAR_POOL_LIMITS"] = "neo4j=4,mcmc=1"
        apply_pool_limits(stack.instance, {"neo4j": 4, "mcmc": 1})


# ---- pools ----------------------------------------------------------------------------------

FIT_ASSETS = ["race_snapshot", "race_model_fit"]
# Long enough (tens of seconds) for the run to hold the pool while the test acts.
FIT_HOLD = {"draws": 300, "warmup": 200, "chains": 2, "svi_steps": 800, "use_cache": False}


def _submit_fit(stack, race_key, tag):
    from dagster import AssetKey

    from nascar_pipeline.definitions import defs
    from tests.support.daemon_stack import REPO, submit_race_runs

    graph = defs.get_repository_def().asset_graph
    checks = frozenset(k for k in graph.asset_check_keys if k.asset_key.path[-1] == "race_snapshot")
    races = stack.races().set_index("race_key")
    return submit_race_runs(
        stack.instance,
        {race_key: str(races.loc[race_key, "content_hash"])},
        str(REPO / "workspace.yaml"),
        backfill_tag=tag,
        asset_selection=frozenset(AssetKey(a) for a in FIT_ASSETS),
        run_config={"ops": {"race_model_fit": {"config": FIT_HOLD}}},
        asset_check_selection=checks,
    )[race_key]


def _step_started(stack, run_id, step) -> bool:
    from dagster import DagsterEventType

    recs = stack.instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_START).records
    return any(r.event_log_entry.step_key == step for r in recs)


def _worker_pid(stack, run_id) -> int | None:
    from dagster import DagsterEventType

    for rec in stack.instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ENGINE_EVENT
    ).records:
        m = re.search(r"Started process for run \(pid: (\d+)\)", rec.event_log_entry.message)
        if m:
            return int(m.group(1))
    return None


def test_terminate_while_waiting_on_pool_and_killed_worker_frees_it(stack):
    from dagster import DagsterRunStatus

    hist = _history(stack)
    holder = _submit_fit(stack, hist[6], "pool-holder")
    wait_for(
        lambda: _step_started(stack, holder, "race_model_fit"), 300, 1, "the holder's model fit"
    )
    waiter = _submit_fit(stack, hist[7], "pool-waiter")
    # The waiter needs the mcmc pool, which the holder has: it waits in the queue.
    time.sleep(6)  # a few dequeue intervals
    assert stack.instance.get_run_by_id(waiter).status == DagsterRunStatus.QUEUED
    t0 = time.monotonic()
    stack.instance.run_coordinator.cancel_run(waiter)
    wait_for(
        lambda: stack.instance.get_run_by_id(waiter).status == DagsterRunStatus.CANCELED,
        30,
        0.5,
        "the terminated waiting run to be CANCELED",
    )
    FIGURES["terminate_waiting_run_s"] = round(time.monotonic() - t0, 1)

    nxt = _submit_fit(stack, hist[8], "pool-next")
    pid = _worker_pid(stack, holder)
    assert pid, stack.log_tail()
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    # Run monitoring fails the holder (its worker is gone); its claim on the pool ends with it
    # and the next run (or the holder's automatic retry) gets the pool.
    wait_for(
        lambda: stack.instance.get_run_by_id(holder).is_finished,
        120,
        1,
        "the killed run to be failed",
    )
    FIGURES["killed_run_failed_s"] = round(time.monotonic() - t0, 1)
    assert stack.instance.get_run_by_id(holder).status == DagsterRunStatus.FAILURE

    def pool_taken_again():
        runs = [nxt, *[r.run_id for r in stack.runs(tags={"dagster/root_run_id": holder})]]
        return any(_step_started(stack, r, "race_model_fit") for r in runs)

    wait_for(pool_taken_again, 240, 1, "another run to get the mcmc pool")
    FIGURES["killed_run_pool_reused_s"] = round(time.monotonic() - t0, 1)
    for run in stack.runs(statuses=[DagsterRunStatus.QUEUED, DagsterRunStatus.STARTED]):
        stack.instance.run_coordinator.cancel_run(run.run_id)
