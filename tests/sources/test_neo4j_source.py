"""Neo4jRaceSource: same RaceInputs and list_races as the pure assembly of the same tables."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from nascar_pipeline.cli import main
from nascar_pipeline.core.race_inputs import assemble_race_inputs, list_races
from nascar_pipeline.core.tables import OntologyTables
from nascar_pipeline.ontology.parsers.contest import parse_contest
from nascar_pipeline.ontology.parsers.history import parse_history
from nascar_pipeline.ontology.parsers.salaries import parse_salaries
from nascar_pipeline.sources.base import UnknownRaceError
from nascar_pipeline.sources.neo4j_source import Neo4jRaceSource
from tests.support.dk_files import CONTEST, write_dk_salaries
from tests.support.services.neo4j_server import clear_database, neo4j_env

pytestmark = pytest.mark.neo4j


def _with_salaries(t: OntologyTables, sal: OntologyTables) -> OntologyTables:
    e = t.entries.copy()
    s = sal.entries.set_index(["race_key", "driver_id"])
    idx = pd.MultiIndex.from_frame(e[["race_key", "driver_id"]])
    for col in ("salary", "dk_id"):
        e[col] = pd.Series(s[col].reindex(idx).to_numpy(), dtype="Int64").fillna(e[col])
    return OntologyTables(
        races=t.races, drivers=t.drivers, entries=e, results=t.results, contests=t.contests
    )


@pytest.fixture(scope="module")
def world(neo4j_server, shared_data, tmp_path_factory):
    """History + a salary slate and a contest for the last race, in Neo4j and as tables."""
    tmp = tmp_path_factory.mktemp("slate")
    races, results = shared_data / "history" / "races.csv", shared_data / "history" / "results.csv"
    t = parse_history(races, results)
    last = t.races.sort_values("race_date")["race_key"].iloc[-1]
    ids = t.entries[t.entries["race_key"] == last]["driver_id"].tolist()
    names = t.drivers.set_index("driver_id")["name"]
    sal_rows = [(names[d], 40000000 + d, 4500 + 150 * (i % 40)) for i, d in enumerate(ids)]
    sal_path = write_dk_salaries(tmp / "DKSalaries.csv", sal_rows)
    contest_path = tmp / "contest.json"
    contest_path.write_text(json.dumps(CONTEST))
    with neo4j_env(neo4j_server), neo4j_server.driver() as driver:
        clear_database(driver)
        assert main(["ingest", "history", str(races), str(results)]) == 0
        assert main(["ingest", "salaries", str(sal_path), "--race", last]) == 0
        assert main(["ingest", "contest", str(contest_path), "--race", last]) == 0
        sal = parse_salaries(sal_path, last, t.drivers, ids)
        expected = _with_salaries(t, sal)
        expected.contests = parse_contest(contest_path, last).contests
        yield {
            "driver": driver,
            "tables": expected,
            "last": last,
            "sal_rows": sal_rows,
            "tmp": tmp,
            "source": Neo4jRaceSource(driver),
        }


def _sorted(df: pd.DataFrame, keys) -> pd.DataFrame:
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def test_race_inputs_equal_assembled_tables(world):
    src, t = world["source"], world["tables"]
    keys = t.races.sort_values("race_date")["race_key"].tolist()
    for key in (keys[0], keys[123], world["last"]):
        got, want = src.race_inputs(key), assemble_race_inputs(t, key)
        pd.testing.assert_frame_equal(got.race, want.race)
        pd.testing.assert_frame_equal(
            _sorted(got.entries, ["driver_id"]), _sorted(want.entries, ["driver_id"])
        )
        hk = ["race_date", "race_key", "finish_position"]
        pd.testing.assert_frame_equal(_sorted(got.history, hk), _sorted(want.history, hk))
        pd.testing.assert_frame_equal(got.contests, want.contests)
    last = src.race_inputs(world["last"])
    assert last.entries["salary"].notna().all() and len(last.contests) == 1
    assert len(src.race_inputs(keys[0]).history) == 0


def test_unknown_race(world):
    with pytest.raises(UnknownRaceError):
        world["source"].race_inputs("1999-nowhere-400")
    with pytest.raises(UnknownRaceError):
        world["source"].race_results("1999-nowhere-400")


def test_race_results_equal_tables(world):
    from nascar_pipeline.sources.base import RACE_RESULTS_COLUMNS, race_results_from_tables

    src, t = world["source"], world["tables"]
    for key in (t.races["race_key"].iloc[7], world["last"]):
        got = src.race_results(key)
        assert list(got.columns) == RACE_RESULTS_COLUMNS and len(got) > 30
        pd.testing.assert_frame_equal(got, race_results_from_tables(t, key))
    assert src.race_results(world["last"])["salary"].notna().all()


def test_list_races_equals_embedded(world):
    got = world["source"].list_races()
    want = list_races(world["tables"])
    assert len(got) == 249 and got["has_results"].all()
    pd.testing.assert_frame_equal(got, want)


def test_content_hash_changes_only_with_the_slate(world, capsys):
    src, last, tmp = world["source"], world["last"], world["tmp"]
    before = src.list_races().set_index("race_key")["content_hash"]
    # re-ingesting the same slate: no hash moves
    assert main(["ingest", "salaries", str(tmp / "DKSalaries.csv"), "--race", last]) == 0
    assert src.list_races().set_index("race_key")["content_hash"].equals(before)
    # one salary changes: only that race's hash moves
    rows = list(world["sal_rows"])
    rows[0] = (rows[0][0], rows[0][1], rows[0][2] + 100)
    changed = write_dk_salaries(tmp / "DKSalaries-2.csv", rows)
    assert main(["ingest", "salaries", str(changed), "--race", last]) == 0
    after = src.list_races().set_index("race_key")["content_hash"]
    moved = after[after != before].index.tolist()
    assert moved == [last]
    # and back: the hash is a function of the slate only
    assert main(["ingest", "salaries", str(tmp / "DKSalaries.csv"), "--race", last]) == 0
    assert src.list_races().set_index("race_key")["content_hash"].equals(before)


def test_dagster_resource_lifecycle(neo4j_server, world):
    from dagster import build_resources

    from nascar_pipeline.resources.neo4j import Neo4jResource

    res = Neo4jResource(
        uri=neo4j_server.uri, user=neo4j_server.user, password=neo4j_server.password
    )
    assert neo4j_server.password not in repr(res) and neo4j_server.password not in str(res)
    with build_resources({"race_source": res}) as resources:
        live = resources.race_source
        assert len(live.source().list_races()) == 249
        driver = live._driver
        assert driver is not None and live.source().driver is driver  # one driver per run
    assert live._driver is None


def test_race_snapshot_materializes_from_neo4j(neo4j_server, world, tmp_path, s3_bucket):
    """The Dagster asset through the Neo4j resource, for the last real 2025 race: the same
    snapshot as the pure path, and equal frames in a local folder and on moto's S3."""
    from dagster import DagsterInstance, materialize

    from nascar_pipeline.assets.snapshot import race_snapshot, snapshot_checks
    from nascar_pipeline.core.snapshot import build_snapshot
    from nascar_pipeline.resources.neo4j import Neo4jResource
    from nascar_pipeline.resources.storage import storage_resources
    from nascar_pipeline.storage.layout import StorageLayout

    key = world["last"]
    assert key.startswith("2025-")
    local_root, s3_root = str(tmp_path / "store"), f"s3://{s3_bucket}/pipeline"
    for root in (local_root, s3_root):
        instance = DagsterInstance.ephemeral()
        instance.add_dynamic_partitions("races", [key])
        result = materialize(
            [race_snapshot, *snapshot_checks],
            partition_key=key,
            instance=instance,
            resources={
                "race_source": Neo4jResource(
                    uri=neo4j_server.uri, user=neo4j_server.user, password=neo4j_server.password
                ),
                **storage_resources(root),
            },
        )
        assert result.success
    got = StorageLayout(local_root).read_asset("race_snapshot", key)
    want = build_snapshot(assemble_race_inputs(world["tables"], key))
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want)
    pd.testing.assert_frame_equal(StorageLayout(s3_root).read_asset("race_snapshot", key), got)
