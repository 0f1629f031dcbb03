"""`ingest projections` against a real Neo4j: the sample vendor file (tests/data/ingest,
matching DKSalaries.csv) sets the race's user numbers, a second file replaces them (drivers
missing from it back to null), and every kind of bad file exits 2 naming file, line and field
with nothing stored changed. The doc's example parses."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nascar_pipeline.ontology.parsers.projections import parse_projections
from tests.ontology.test_input_formats_doc import KNOWN, examples
from tests.support.cli import run_cli as cli
from tests.support.services.neo4j_server import graph_checksum, graph_counts

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"
RACE = "2025-phoenix-shriners-children-s-500"
SAMPLE = DATA / "projections.csv"
USER = ("user_proj_points", "user_proj_floor", "user_proj_ceiling", "user_own_pct")
HAMLIN, BUSCH, SUAREZ, STENHOUSE, NEMECHEK = 1361, 454, 4113, 3888, 4092


@pytest.fixture
def graph(driver, capsys):
    """History (two races, respelled drivers), the aliases file and the race's DK slate."""
    steps = [
        ("history", DATA / "races.csv", DATA / "results.csv"),
        ("aliases", DATA / "aliases.csv"),
        ("salaries", DATA / "DKSalaries.csv", "--race", RACE),
    ]
    for step in steps:
        rc, _, err = cli(capsys, "ingest", *step)
        assert rc == 0, err
    return driver


def _user_numbers(driver) -> dict[int, dict]:
    recs, _, _ = driver.execute_query(
        "MATCH (d:Driver)-[e:ENTERED]->(:Race {race_key: $k}) RETURN d.driver_id AS id, e{.*} AS e",
        k=RACE,
    )
    return {r["id"]: {k: r["e"].get(k) for k in USER} for r in recs}


def _write(tmp_path, text: str, name="proj.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_sample_file_sets_user_numbers_and_reimport_changes_nothing(graph, capsys):
    before = graph_counts(graph)
    rc, out, err = cli(capsys, "ingest", "projections", SAMPLE, "--race", RACE)
    assert rc == 0, err
    assert "5 entries" in out and "replaced" in out
    got = _user_numbers(graph)
    assert got[HAMLIN] == {
        "user_proj_points": 52.4,
        "user_proj_floor": 28.0,
        "user_proj_ceiling": 82.5,
        "user_own_pct": 31.5,
    }
    # 'John Nemechek' is found by his DK ID (and by the alias)
    assert got[NEMECHEK]["user_proj_points"] == 36.7
    assert graph_counts(graph) == before  # properties only: no node or relationship created
    snap = graph_checksum(graph)
    assert cli(capsys, "ingest", "projections", SAMPLE, "--race", RACE)[0] == 0
    assert graph_checksum(graph) == snap
    # salaries and results untouched
    recs, _, _ = graph.execute_query(
        "MATCH (d:Driver {driver_id: $d})-[e:ENTERED]->(:Race {race_key: $k}) RETURN e.salary AS s",
        d=HAMLIN,
        k=RACE,
    )
    assert recs[0]["s"] == 10500


def test_second_file_replaces_the_previous_numbers(graph, tmp_path, capsys):
    assert cli(capsys, "ingest", "projections", SAMPLE, "--race", RACE)[0] == 0
    # another vendor's layout: names only, no floor/ceiling/ownership
    second = _write(tmp_path, "Player,Projection\nDenny Hamlin,48\nKyle Busch,35.5\n")
    rc, out, err = cli(capsys, "ingest", "projections", second, "--race", RACE)
    assert rc == 0, err
    got = _user_numbers(graph)
    assert got[HAMLIN] == {
        "user_proj_points": 48.0,
        "user_proj_floor": None,
        "user_proj_ceiling": None,
        "user_own_pct": None,
    }
    assert got[BUSCH]["user_proj_points"] == 35.5
    for did in (SUAREZ, STENHOUSE, NEMECHEK):
        assert got[did] == dict.fromkeys(USER), did


HEADER = "Name,Fpts,Floor,Ceiling,Ownership\n"
GOOD_ROWS = [
    "Denny Hamlin,52.4,28,82.5,31.5%",
    "Kyle Busch,33.1,14.5,60,18.2",
    "Daniel Suárez,29.8,12,55.5,14",
]
BAD = {
    "duplicate driver": (
        GOOD_ROWS + ["DENNY HAMLIN,50,20,70,10"],
        ["line 5, field Name", "duplicate driver", "also line 2"],
    ),
    "same driver by another spelling": (
        GOOD_ROWS + ["John H. Nemechek,30,,,", "John Nemechek,31,,,"],
        ["line 6, field Name", f"the same driver ({NEMECHEK}) as line 5"],
    ),
    "negative points": (
        GOOD_ROWS + ["Ricky Stenhouse Jr.,-3,,,"],
        ["line 5, field Fpts", "-3.0 is below 0"],
    ),
    "floor above the mean": (
        ["Denny Hamlin,40,45,60,10"] + GOOD_ROWS[1:],
        ["line 2, field Floor", "floor 45 is above the mean 40"],
    ),
    "ceiling below the mean": (
        GOOD_ROWS[:2] + ["Daniel Suarez,30,10,25,5"],
        ["line 4, field Ceiling", "ceiling 25 is below the mean 30"],
    ),
    "ownership above 100": (
        GOOD_ROWS + ["Ricky Stenhouse Jr.,25,,,120%"],
        ["line 5, field Ownership", "120.0 is above 100"],
    ),
    "not a number": (GOOD_ROWS + ["Ricky Stenhouse Jr.,lots,,,"], ["line 5, field Fpts"]),
    "missing mean": (GOOD_ROWS + ["Ricky Stenhouse Jr.,,,,5"], ["line 5, field Fpts", "missing"]),
    "unknown driver": (
        GOOD_ROWS + ["Denny Hamline,40,,,"],
        [
            "field Name",
            "1 name(s) match no known driver",
            "'Denny Hamline' (line 5",
            "did you mean Denny Hamlin (1361)",
            "ingest aliases",
        ],
    ),  # fmt: skip
    "driver not on the entry list": (
        GOOD_ROWS + ["Jimmie Johnson,20,,,"],
        ["line 5, field Name", "(driver 48) is not on the entry list", RACE],
    ),
}


def test_bad_files_exit_2_and_change_nothing(graph, tmp_path, capsys):
    # one graph for every case: each must leave it exactly as it was
    graph.execute_query("CREATE (:Driver {driver_id: 48, name: 'Jimmie Johnson'})")
    assert cli(capsys, "ingest", "projections", SAMPLE, "--race", RACE)[0] == 0
    snap = (graph_counts(graph), graph_checksum(graph))
    for case, (rows, expected) in sorted(BAD.items()):
        path = _write(tmp_path, HEADER + "\n".join(rows) + "\n", f"{case.replace(' ', '-')}.csv")
        rc, _, err = cli(capsys, "ingest", "projections", path, "--race", RACE)
        assert rc == 2, (case, err)
        assert str(path) in err, case
        for piece in expected:
            assert piece in err, (case, piece, err)
        assert (graph_counts(graph), graph_checksum(graph)) == snap, case


def test_ids_header_and_race_errors(graph, tmp_path, capsys):
    snap = (graph_counts(graph), graph_checksum(graph))
    cases = [
        ("dk_id,proj_points\n39571001,50\n12345,20\n", ["line 3, field dk_id",
         "DraftKings id 12345 is not on race"]),
        ("ID,Name,FPTS\n39571001,Kyle Busch,50\n", ["line 2, field Name",
         "'Kyle Busch' is driver 454, but ID 39571001 is driver 1361"]),
        ("fd_id,proj_points\n114300-22001,50\n", ["FanDuel id 114300-22001 is not on race"]),
        ("Name,Salary\nDenny Hamlin,10500\n", ["line 1 (header)", "a projection column"]),
        ("Fpts,Ownership\n50,10\n", ["line 1 (header)", "a driver column"]),
        ("Name,Fpts\n", ["no drivers"]),
    ]  # fmt: skip
    for text, expected in cases:
        path = _write(tmp_path, text)
        rc, _, err = cli(capsys, "ingest", "projections", path, "--race", RACE)
        assert rc == 2, (text, err)
        for piece in expected:
            assert piece in err, (piece, err)
    rc, _, err = cli(capsys, "ingest", "projections", SAMPLE, "--race", "2025-nowhere-500")
    assert rc == 2 and "unknown race key '2025-nowhere-500'" in err
    assert (graph_counts(graph), graph_checksum(graph)) == snap


def test_ids_resolve_dk_and_fanduel(tmp_path):
    entries = pd.DataFrame(
        {"driver_id": [1361, 454], "dk_id": [39571001, pd.NA], "fd_id": [pd.NA, "114300-22002"]}
    )
    text = "Id,FPTS,own_pct\n39571001,50,12\n114300-22002,30,\n"
    got = parse_projections(_write(tmp_path, text), "k", KNOWN, entries).entries
    assert dict(zip(got["driver_id"], got["user_proj_points"])) == {1361: 50.0, 454: 30.0}
    assert got["user_own_pct"].isna().tolist() == [False, True]


def test_doc_example_parses(tmp_path):
    (example,) = examples()["Projections CSV"]
    entries = pd.DataFrame(
        {"driver_id": [1361, 454, 4113, 4092], "dk_id": [39571001] + [pd.NA] * 3}
    )
    got = parse_projections(_write(tmp_path, example), "k", KNOWN, entries).entries
    assert len(got) == 3 and got["user_proj_points"].notna().all()


def test_user_numbers_enter_the_slate_hash_only_where_set(graph, capsys):
    """Ingesting projections changes the race's slate hash (its downstream assets re-run), the
    fast hash of list_races equals the snapshot's, and a race without numbers keeps its hash."""
    from nascar_pipeline.core.snapshot import slate_hash
    from nascar_pipeline.sources.neo4j_source import Neo4jRaceSource

    source = Neo4jRaceSource(graph)

    def hashes():
        races = source.list_races().set_index("race_key")["content_hash"]
        return races.to_dict()

    before = hashes()
    inputs = source.race_inputs(RACE)
    assert slate_hash(inputs.entries, inputs.contests) == before[RACE]
    plain = slate_hash(inputs.entries.drop(columns=list(USER)), inputs.contests)
    assert plain == before[RACE]  # no user numbers: the hash as before they existed
    assert cli(capsys, "ingest", "projections", SAMPLE, "--race", RACE)[0] == 0
    after = hashes()
    assert after[RACE] != before[RACE]
    assert {k: v for k, v in after.items() if k != RACE} == {
        k: v for k, v in before.items() if k != RACE
    }
    inputs = source.race_inputs(RACE)
    assert inputs.entries["user_proj_points"].notna().sum() == 5
    assert slate_hash(inputs.entries, inputs.contests) == after[RACE]
