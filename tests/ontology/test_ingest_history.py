"""`nascar-pipeline ingest history` against a real Neo4j: counts, idempotence, atomicity."""

from __future__ import annotations

import pytest

from nascar_pipeline.cli import main
from tests.support.cli import run_cli as cli
from tests.support.services.neo4j_server import (
    clear_database,
    graph_checksum,
    graph_counts,
    neo4j_env,
)

pytestmark = pytest.mark.neo4j


@pytest.fixture(scope="module")
def graph(neo4j_server, shared_data):
    """History ingested once for the module through the CLI; yields (driver, paths)."""
    races, results = shared_data / "history" / "races.csv", shared_data / "history" / "results.csv"
    with neo4j_env(neo4j_server), neo4j_server.driver() as driver:
        clear_database(driver)
        assert main(["ingest", "history", str(races), str(results)]) == 0
        _BASELINE[id(driver)] = (graph_counts(driver), graph_checksum(driver))
        yield driver, races, results


_BASELINE: dict[int, tuple] = {}  # counts and checksum right after the module's ingest


def test_all_history_ingested(graph):
    driver, _, _ = graph
    counts = graph_counts(driver)
    assert counts["node:Race"] == 249
    assert counts["rel:ENTERED"] == 9428
    assert counts["rel:FINISHED"] == 9428
    assert counts["rel:AT"] == 249
    assert counts["node:Driver"] == 130
    assert counts["node:Track"] == 34
    recs, _, _ = driver.execute_query(
        "MATCH (r:Race) WHERE r.status <> 'final' OR NOT (r)-[:AT]->(:Track) RETURN count(r) AS n"
    )
    assert recs[0]["n"] == 0
    recs, _, _ = driver.execute_query("MATCH (t:Track) WHERE t.type IS NULL RETURN count(t) AS n")
    assert recs[0]["n"] == 0
    # every race's finishing positions are 1..N
    recs, _, _ = driver.execute_query(
        "MATCH (:Driver)-[f:FINISHED]->(r:Race) WITH r, collect(f.position) AS p "
        "WHERE size(p) <> reduce(m = 0, x IN p | CASE WHEN x > m THEN x ELSE m END) "
        "RETURN count(r) AS n"
    )
    assert recs[0]["n"] == 0


def test_spot_check_daytona_2019(graph):
    driver, _, _ = graph
    recs, _, _ = driver.execute_query(
        "MATCH (d:Driver {driver_id: 1361})-[f:FINISHED]->(r:Race {race_id: 4773})-[:AT]->(t) "
        "MATCH (d)-[e:ENTERED]->(r) MATCH (d)-[:DROVE_FOR {season: 2019}]->(tm:Team) "
        "RETURN d.name AS name, f.position AS pos, f.laps_led AS led, f.fastest_laps AS fl, "
        "e.start_position AS start, e.car_number AS car, r.race_key AS key, t.type AS type, "
        "tm.name AS team"
    )
    r = recs[0]
    assert (r["name"], r["pos"], r["led"], r["fl"], r["start"], r["car"]) == (
        "Denny Hamlin",
        1,
        30,
        2,
        10,
        "11",
    )
    assert r["key"] == "2019-daytona-daytona-500"
    assert (r["type"], r["team"]) == ("superspeedway", "Joe Gibbs Racing")


def test_reimport_changes_nothing(graph, capsys):
    driver, races, results = graph
    before = _BASELINE[id(driver)]
    rc, out, err = cli(capsys, "ingest", "history", races, results)
    assert rc == 0, err
    assert "0 nodes and 0 relationships created" in out
    assert (graph_counts(driver), graph_checksum(driver)) == before


def _bad_copy(tmp_path, src, name, edit):
    lines = src.read_text(encoding="utf-8").splitlines()
    lines = edit(lines)
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def _set_cell(lines, line_no, column, value):
    header = lines[0].split(",")
    cells = lines[line_no - 1].split(",")
    cells[header.index(column)] = value
    lines[line_no - 1] = ",".join(cells)
    return lines


BAD_RESULTS = {
    "missing column": (
        lambda ls: (
            [",".join(c for c in ls[0].split(",") if c != "laps_led")]
            + [",".join(x for i, x in enumerate(l.split(",")) if i != 9) for l in ls[1:]]
        ),
        ["line 1", "laps_led", "missing column"],
    ),
    "non-numeric": (
        lambda ls: _set_cell(ls, 5, "finish_position", "fourth"),
        ["line 5", "finish_position", "not a whole number"],
    ),
    "duplicate driver": (
        lambda ls: ls[:3] + [ls[2]] + ls[3:],
        ["line 4", "driver_id", "duplicate driver"],
    ),
    "not a permutation": (
        lambda ls: _set_cell(ls, 3, "finish_position", "1"),
        ["finish_position", "not a permutation", "duplicated 1"],
    ),
    "truncated": (lambda ls: ls[:100] + [ls[100][:12]], ["line 101", "truncated"]),
    "unknown race": (
        lambda ls: _set_cell(ls, 7, "race_id", "999999"),
        ["line 7", "race_id", "999999"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_RESULTS))
def test_bad_results_file_writes_nothing(graph, tmp_path, capsys, case):
    driver, races, results = graph
    edit, expected = BAD_RESULTS[case]
    bad = _bad_copy(tmp_path, results, "results.csv", edit)
    before = graph_counts(driver)
    rc, out, err = cli(capsys, "ingest", "history", races, bad)
    assert rc == 2
    assert str(bad) in err
    for piece in expected:
        assert piece in err, (piece, err)
    assert graph_counts(driver) == before
    if case == "not a permutation":  # one full checksum; the others fail before any write too
        assert graph_checksum(driver) == _BASELINE[id(driver)][1]


def test_bad_races_file_writes_nothing(graph, tmp_path, capsys):
    driver, races, results = graph
    bad = _bad_copy(
        tmp_path, races, "races.csv", lambda ls: _set_cell(ls, 10, "race_date", "2019-13-45")
    )
    before = graph_counts(driver)
    rc, _, err = cli(capsys, "ingest", "history", bad, results)
    assert rc == 2 and "line 10" in err and "race_date" in err and str(bad) in err
    assert graph_counts(driver) == before


def test_missing_connection_settings(capsys, monkeypatch, shared_data):
    monkeypatch.delenv("NEO4J_URI", raising=False)
    rc, _, err = cli(
        capsys,
        "ingest",
        "history",
        shared_data / "history" / "races.csv",
        shared_data / "history" / "results.csv",
    )
    assert rc == 2 and "NEO4J_URI is not set" in err
