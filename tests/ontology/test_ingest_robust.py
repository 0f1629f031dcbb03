"""The attack run's ingest faults (issue 16) and the race week's sloppy files (issue 12) through
the CLI on a real Neo4j: exit 2 with file, row and field, no traceback, the graph unchanged;
warnings printed once, bounded."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from nascar_pipeline.cli import main
from nascar_pipeline.ontology.parsers import limits
from tests.support.cli import run_cli as cli
from tests.support.services.neo4j_server import clear_database, graph_checksum, neo4j_env

pytestmark = pytest.mark.neo4j

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "ingest"


@pytest.fixture(scope="module")
def graph(neo4j_server):
    """The sample history ingested once; yields (driver, checksum after it)."""
    with neo4j_env(neo4j_server), neo4j_server.driver() as d:
        clear_database(d)
        assert (
            main(["ingest", "history", str(SAMPLES / "races.csv"), str(SAMPLES / "results.csv")])
            == 0
        )
        yield d, graph_checksum(d)


def _history_copy(tmp_path: Path, line: int | None = None, field: str = "", value: str = ""):
    races, results = tmp_path / "races.csv", tmp_path / "results.csv"
    shutil.copy(SAMPLES / "races.csv", races)
    with open(SAMPLES / "results.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if line is not None:
        rows[line - 1][rows[0].index(field)] = value
    with open(results, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return races, results


def _feed_copy(tmp_path: Path, **fields) -> Path:
    data = json.loads((SAMPLES / "weekend-feed-grid.json").read_text())
    data["weekend_race"][0]["results"][0].update(fields)
    p = tmp_path / "feed.json"
    p.write_text(json.dumps(data))
    return p


def _phoenix(driver) -> str:
    return driver.execute_query("MATCH (r:Race {race_id: 5546}) RETURN r.race_key AS k")[0][0]["k"]


def _assert_refused(graph, rc, err, *pieces):
    driver, checksum = graph
    assert rc == 2, err
    assert "Traceback" not in err and len(err) < 3000, err
    for piece in pieces:
        assert piece in err, (piece, err)
    assert graph_checksum(driver) == checksum


@pytest.mark.parametrize(
    "field,value", [("driver_id", str(10**30)), ("laps_led", str(2**63)), ("race_id", "1e30")]
)
def test_history_integer_beyond_int64(graph, tmp_path, capsys, field, value):
    races, results = _history_copy(tmp_path, 5, field, value)
    rc, _, err = cli(capsys, "ingest", "history", races, results)
    _assert_refused(graph, rc, err, str(results), "line 5", f"field {field}")


@pytest.mark.parametrize("fields", [{"driver_id": 10**30}, {"starting_position": 2**63}])
def test_feed_integer_beyond_int64(graph, tmp_path, capsys, fields):
    p = _feed_copy(tmp_path, **fields)
    rc, _, err = cli(capsys, "ingest", "feed", p)
    _assert_refused(graph, rc, err, str(p), "results[0]", f"field {next(iter(fields))}")


def test_feed_nested_100000_deep(graph, tmp_path, capsys):
    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    rc, _, err = cli(capsys, "ingest", "feed", p)
    _assert_refused(graph, rc, err, str(p), "nested 100000 levels deep")


def test_file_over_the_size_limit(graph, tmp_path, capsys):
    driver, _ = graph
    p = tmp_path / "DKSalaries.csv"
    shutil.copy(SAMPLES / "DKSalaries.csv", p)
    with open(p, "r+b") as fh:
        fh.truncate(limits.MAX_FILE_BYTES + 1)
    rc, _, err = cli(capsys, "ingest", "salaries", p, "--race", _phoenix(driver))
    _assert_refused(graph, rc, err, str(p), "over the 64 MiB input limit")


def test_many_unknown_salary_names_give_a_bounded_error(graph, tmp_path, capsys):
    driver, _ = graph
    key = _phoenix(driver)
    p = tmp_path / "DKSalaries.csv"
    with open(p, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Position", "Name + ID", "Name", "ID", "Roster Position", "Salary"])
        for i in range(50_000):
            w.writerow(
                ["D", f"X{i} ({20_000_000 + i})", f"Unknown Driver {i}", 20_000_000 + i, "D", 5000]
            )
    rc, _, err = cli(capsys, "ingest", "salaries", p, "--race", key)
    _assert_refused(graph, rc, err, "50000 name(s) match no known driver", "... and 49992 more")


def test_missing_car_numbers_warn_once_and_import(graph, tmp_path, capsys):
    driver, _ = graph
    races, results = _history_copy(tmp_path)
    with open(results, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    for row in rows[1:]:
        row[rows[0].index("car_number")] = ""
    with open(results, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    clear_database(driver)
    try:
        rc, out, err = cli(capsys, "ingest", "history", races, results)
        assert rc == 0, err
        assert err.count("warning: ") == 1, err
        assert f"file {results}: 10 warnings" in err and "... and 2 more" in err
        n = driver.execute_query("MATCH ()-[e:ENTERED]->() RETURN count(e) AS n")[0][0]["n"]
        assert n == 10
    finally:
        clear_database(driver)
        assert (
            main(["ingest", "history", str(SAMPLES / "races.csv"), str(SAMPLES / "results.csv")])
            == 0
        )


def test_pandas_written_floats_import_like_the_original(graph, tmp_path, capsys):
    """A pandas-written history (whole numbers as 2.0) is the same graph as the original."""
    driver, checksum = graph
    races_df = pd.read_csv(SAMPLES / "races.csv")
    results_df = pd.read_csv(SAMPLES / "results.csv", dtype={"car_number": str})
    for col in ("race_id", "driver_id", "start_position", "finish_position", "laps_led"):
        results_df[col] = results_df[col].astype(float)
    races_df["laps"] = races_df["laps"].astype(float)
    races, results = tmp_path / "races.csv", tmp_path / "results.csv"
    races_df.to_csv(races, index=False)
    results_df.to_csv(results, index=False)
    rc, out, err = cli(capsys, "ingest", "history", races, results)
    assert rc == 0, err
    assert "0 nodes and 0 relationships created" in out
    assert graph_checksum(driver) == checksum


def test_out_of_transaction_memory_is_a_clear_error_not_a_retry_loop():
    """What a too-small Neo4j answers at commit (issue 16: a raw traceback after 75 s)."""
    from neo4j.exceptions import Neo4jError

    from nascar_pipeline.errors import UserInputError
    from nascar_pipeline.ontology.writer import _write_once

    class Tx:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def commit(self):
            raise Neo4jError._hydrate_neo4j(  # how the driver builds the server's error
                code="Neo.TransientError.General.MemoryPoolOutOfMemoryError",
                message="The allocation of an extra 12.0 MiB would use more than the limit",
            )

    class Session:
        begun = 0

        def begin_transaction(self):
            Session.begun += 1
            return Tx()

    with pytest.raises(UserInputError, match="ran out of transaction memory.*NEO4J_HEAP"):
        _write_once(Session(), lambda tx: None, "results.csv")
    assert Session.begun == 1
