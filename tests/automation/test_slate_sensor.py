"""race_sensor waits for a complete slate: a slate ingested in four steps (entry list, DraftKings
salaries, contest, starting grid), one sensor tick after each, gives exactly one race run; an
incomplete slate runs once it has been quiet for NASCAR_SLATE_QUIET_SECONDS."""

from __future__ import annotations

import pandas as pd
import pytest
from dagster import DagsterInstance, build_sensor_context
from dagster._core.definitions.partitions.context import partition_loading_context

from nascar_pipeline.automation import sensors
from nascar_pipeline.automation.sensors import race_sensor
from nascar_pipeline.automation.slate import missing_parts
from nascar_pipeline.core.snapshot import slate_hash
from nascar_pipeline.core.tables import RACES_COLUMNS, RaceInputs
from nascar_pipeline.definitions import defs

REPO = defs.get_repository_def()
RACE = "2027-daytona-daytona-500"


class SlateInSteps:
    """A race source whose one upcoming race's slate is ingested step by step."""

    def __init__(self):
        self.entries = pd.DataFrame(columns=["driver_id", "car_number", "salary", "start_position"])
        self.contests = pd.DataFrame(columns=["contest_id", "race_key"])
        self.inputs_reads = 0

    # ---- ingest steps ----------------------------------------------------------------
    def entry_list(self):
        self.entries = pd.DataFrame(
            {
                "driver_id": pd.array([1, 2, 3], dtype="Int64"),
                "car_number": ["5", "9", "24"],
                "salary": pd.array([None] * 3, dtype="Int64"),
                "start_position": pd.array([None] * 3, dtype="Int64"),
            }
        )

    def salaries(self):
        self.entries["salary"] = pd.array([10500, 9800, 7200], dtype="Int64")

    def contest(self):
        self.contests = pd.DataFrame({"contest_id": ["dk-1"], "race_key": [RACE]})

    def grid(self):
        self.entries["start_position"] = pd.array([3, 1, 2], dtype="Int64")

    # ---- the RaceSource protocol --------------------------------------------------------
    def list_races(self) -> pd.DataFrame:
        row = {c: pd.NA for c in RACES_COLUMNS}
        row.update(race_key=RACE, season=2027, race_date="2027-02-14", status="scheduled")
        races = pd.DataFrame([row])
        races["content_hash"] = slate_hash(self.entries, self.contests)
        races["has_results"] = False
        return races

    def race_inputs(self, race_key: str) -> RaceInputs:
        self.inputs_reads += 1
        return RaceInputs(
            race=pd.DataFrame(),
            entries=self.entries.copy(),
            history=pd.DataFrame(),
            contests=self.contests.copy(),
        )


class Resource:
    def __init__(self, source):
        self._source = source

    def source(self):
        return self._source


class Clock:
    def __init__(self):
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(sensors, "_now", c)
    monkeypatch.setenv("NASCAR_SLATE_QUIET_SECONDS", "300")
    return c


def _tick(instance, source, cursor):
    ctx = build_sensor_context(
        instance=instance,
        cursor=cursor,
        repository_def=REPO,
        resources={"race_source": Resource(source)},
    )
    with partition_loading_context(dynamic_partitions_store=instance):
        result = race_sensor.evaluate_tick(ctx)
    for req in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
    return result


def test_missing_parts():
    source = SlateInSteps()
    assert missing_parts(source.race_inputs(RACE)) == ["entries", "salaries", "contest", "grid"]
    source.entry_list()
    assert missing_parts(source.race_inputs(RACE)) == ["salaries", "contest", "grid"]
    source.salaries()
    source.contest()
    assert missing_parts(source.race_inputs(RACE)) == ["grid"]
    source.grid()
    assert missing_parts(source.race_inputs(RACE)) == []


def test_a_slate_ingested_in_four_steps_gives_one_race_run(clock):
    source = SlateInSteps()
    runs, cursor = [], None
    with DagsterInstance.ephemeral() as instance:
        for step in (source.entry_list, source.salaries, source.contest, source.grid):
            step()
            result = _tick(instance, source, cursor)
            runs += result.run_requests
            cursor = result.cursor
            clock.t += 60  # a minute between steps, as on the race week that started two runs
        for _ in range(3):  # later ticks, past the quiet period: nothing more
            clock.t += 400
            result = _tick(instance, source, cursor)
            runs += result.run_requests
            cursor = result.cursor
    assert [(r.partition_key, r.run_key) for r in runs] == [
        (RACE, f"{RACE}@{slate_hash(source.entries, source.contests)}")
    ]
    assert source.inputs_reads == 4  # once per slate hash, not once per tick


def test_an_incomplete_slate_runs_after_the_quiet_period_and_the_grid_once_more(clock):
    source = SlateInSteps()
    source.entry_list()
    source.salaries()
    source.contest()
    with DagsterInstance.ephemeral() as instance:
        first = _tick(instance, source, None)
        assert not first.run_requests  # the race becomes a partition; its run waits
        clock.t += 299
        waiting = _tick(instance, source, first.cursor)
        assert not waiting.run_requests
        assert f"{RACE} waits for grid" in waiting.skip_message
        clock.t += 1
        quiet = _tick(instance, source, first.cursor)
        assert [r.partition_key for r in quiet.run_requests] == [RACE]
        clock.t += 3600
        assert not _tick(instance, source, quiet.cursor).run_requests
        source.grid()  # qualifying, hours later: the slate changed and is complete
        graded = _tick(instance, source, quiet.cursor)
        assert [r.partition_key for r in graded.run_requests] == [RACE]
        assert graded.run_requests[0].run_key != quiet.run_requests[0].run_key
