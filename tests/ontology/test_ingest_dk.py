"""`ingest salaries | contest | ownership` against a real Neo4j (base: the real weekend feed)."""

from __future__ import annotations

import json

import pytest

from nascar_pipeline.cli import main
from tests.support.cli import run_cli as cli
from tests.support.dk_files import CONTEST, DK_HEADER, write_dk_salaries, write_dk_standings
from tests.support.services.neo4j_server import (
    clear_database,
    graph_checksum,
    graph_counts,
    neo4j_env,
)

pytestmark = pytest.mark.neo4j

RACE = "2023-richmond-toyota-owners-400"


def feed_salary_rows():
    """Names of the feed's drivers as DraftKings spells some of them (suffix, accents, case)."""
    names = {
        "Martin Truex Jr": "Martin Truex Jr.",
        "Daniel Suárez": "Daniel Suarez",
        "Ricky Stenhouse Jr": "RICKY STENHOUSE JR",
        "AJ Allmendinger": "A.J. Allmendinger",
        "Corey Lajoie": "Corey LaJoie",
    }
    return names


@pytest.fixture
def graph(neo4j_server, shared_data):
    with neo4j_env(neo4j_server), neo4j_server.driver() as d:
        clear_database(d)
        assert main(["ingest", "feed", str(shared_data / "feeds" / "weekend-feed.json")]) == 0
        recs, _, _ = d.execute_query(
            "MATCH (d:Driver)-[e:ENTERED]->(:Race {race_key: $k}) "
            "RETURN d.driver_id AS id, d.name AS name, e.car_number AS car ORDER BY id",
            k=RACE,
        )
        yield d, [r.data() for r in recs]


def _salaries(driver_rows):
    spell = feed_salary_rows()
    return [
        (spell.get(r["name"], r["name"]), 30000000 + r["id"], 5000 + 100 * (i % 50))
        for i, r in enumerate(driver_rows)
    ]


def _entries(driver):
    recs, _, _ = driver.execute_query(
        "MATCH (d:Driver)-[e:ENTERED]->(:Race {race_key: $k}) RETURN d.driver_id AS id, e{.*} AS e",
        k=RACE,
    )
    return {r["id"]: r["e"] for r in recs}


def test_salaries_match_names_and_keep_other_fields(graph, tmp_path, capsys):
    driver, rows = graph
    before = _entries(driver)
    path = write_dk_salaries(tmp_path / "DKSalaries.csv", _salaries(rows))
    rc, out, err = cli(capsys, "ingest", "salaries", path, "--race", RACE)
    assert rc == 0, err
    assert f"{len(rows)} entries" in out
    after = _entries(driver)
    assert set(after) == set(before)
    by_name = {r["name"]: r["id"] for r in rows}
    for name in ("Martin Truex Jr", "Daniel Suárez", "Ricky Stenhouse Jr", "AJ Allmendinger"):
        e = after[by_name[name]]
        assert e["dk_id"] == 30000000 + by_name[name] and 5000 <= e["salary"] <= 9900
        # partial update: what the feed wrote is still there
        for k in ("car_number", "start_position", "team", "manufacturer"):
            assert e[k] == before[by_name[name]][k]
    # results untouched; re-import changes nothing
    recs, _, _ = driver.execute_query("MATCH ()-[f:FINISHED]->() RETURN count(f) AS n")
    assert recs[0]["n"] == len(rows)
    snap = (graph_counts(driver), graph_checksum(driver))
    assert cli(capsys, "ingest", "salaries", path, "--race", RACE)[0] == 0
    assert (graph_counts(driver), graph_checksum(driver)) == snap


def test_new_slate_replaces_the_old_one(graph, tmp_path, capsys):
    driver, rows = graph
    sal = _salaries(rows)
    assert (
        cli(
            capsys, "ingest", "salaries", write_dk_salaries(tmp_path / "a.csv", sal), "--race", RACE
        )[0]
        == 0
    )
    rc, out, err = cli(
        capsys, "ingest", "salaries", write_dk_salaries(tmp_path / "b.csv", sal[1:]), "--race", RACE
    )
    assert rc == 0 and "no longer on the slate" in out, err
    after = _entries(driver)
    dropped = after[rows[0]["id"]]
    assert "salary" not in dropped and "dk_id" not in dropped and dropped["car_number"]
    assert sum(1 for e in after.values() if "salary" in e) == len(rows) - 1


def test_unmatched_names_are_listed_and_nothing_written(graph, tmp_path, capsys):
    driver, rows = graph
    sal = _salaries(rows)
    sal[3] = ("Jeff Gordon Jr.", 123, 8000)
    sal[10] = ("Dale Earnhardt", 124, 7000)
    path = write_dk_salaries(tmp_path / "DKSalaries.csv", sal)
    snap = (graph_counts(driver), graph_checksum(driver))
    rc, _, err = cli(capsys, "ingest", "salaries", path, "--race", RACE)
    assert rc == 2
    assert str(path) in err and "2 name(s) match no known driver" in err
    assert "'Jeff Gordon Jr.' (line 5)" in err and "'Dale Earnhardt' (line 12)" in err
    assert (graph_counts(driver), graph_checksum(driver)) == snap


def _edit_salary(rows, i, value):
    rows = list(rows)
    rows[i] = (rows[i][0], rows[i][1], value)
    return rows


BAD_SALARIES = {
    "non-numeric salary": (
        lambda r: _edit_salary(r, 2, "8k"),
        ["line 4", "Salary", "not a whole number"],
    ),
    "fractional salary": (
        lambda r: _edit_salary(r, 0, "7500.50"),
        ["line 2", "Salary", "not a whole number"],
    ),
    "zero salary": (lambda r: _edit_salary(r, 1, "0"), ["line 3", "Salary", "below 1"]),
    "over the cap": (lambda r: _edit_salary(r, 4, "50100"), ["line 6", "Salary", "above 50000"]),
    "duplicate driver": (lambda r: r + [(r[0][0].upper(), 99, 6000)], ["Name", "duplicate driver"]),
    "same driver by suffix": (
        lambda r: r + [("Martin Truex", 98, 6000)],
        ["Name", "duplicate driver"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SALARIES))
def test_bad_salaries_write_nothing(graph, tmp_path, capsys, case):
    driver, rows = graph
    edit, expected = BAD_SALARIES[case]
    path = write_dk_salaries(tmp_path / "DKSalaries.csv", edit(_salaries(rows)))
    before = graph_counts(driver)
    rc, _, err = cli(capsys, "ingest", "salaries", path, "--race", RACE)
    assert rc == 2 and str(path) in err
    for piece in expected:
        assert piece in err, (piece, err)
    assert graph_counts(driver) == before


def test_salaries_missing_column_unknown_race_truncated(graph, tmp_path, capsys):
    driver, rows = graph
    snap = (graph_counts(driver), graph_checksum(driver))
    path = write_dk_salaries(
        tmp_path / "a.csv", _salaries(rows), header=[h for h in DK_HEADER if h != "Salary"]
    )
    rc, _, err = cli(capsys, "ingest", "salaries", path, "--race", RACE)
    assert rc == 2 and "line 1" in err and "missing column(s) Salary" in err
    good = write_dk_salaries(tmp_path / "b.csv", _salaries(rows))
    rc, _, err = cli(capsys, "ingest", "salaries", good, "--race", "2023-nowhere-500")
    assert rc == 2 and "unknown race key '2023-nowhere-500'" in err and str(good) in err
    rc, _, err = cli(capsys, "ingest", "salaries", good, "--race", "Bad Key!")
    assert rc == 2 and "--race" in err
    text = good.read_text()
    trunc = tmp_path / "c.csv"
    trunc.write_text(text[: text.index("\n", len(text) // 2) + 12])
    rc, _, err = cli(capsys, "ingest", "salaries", trunc, "--race", RACE)
    assert rc == 2 and "truncated" in err and str(trunc) in err
    assert (graph_counts(driver), graph_checksum(driver)) == snap


def test_contest_ingest_and_idempotence(graph, tmp_path, capsys):
    driver, _ = graph
    p = tmp_path / "contest.json"
    p.write_text(json.dumps(CONTEST))
    rc, out, err = cli(capsys, "ingest", "contest", p, "--race", RACE)
    assert rc == 0, err
    assert "1 contests" in out
    recs, _, _ = driver.execute_query(
        "MATCH (c:Contest)-[:FOR]->(r:Race) RETURN c{.*} AS c, r.race_key AS k"
    )
    c = recs[0]["c"]
    assert recs[0]["k"] == RACE and c["field_size"] == 11890 and c["entry_fee"] == 5.0
    assert json.loads(c["payouts"])[2] == {"min_place": 3, "max_place": 5, "prize": 1000.0}
    snap = (graph_counts(driver), graph_checksum(driver))
    assert cli(capsys, "ingest", "contest", p, "--race", RACE)[0] == 0
    assert (graph_counts(driver), graph_checksum(driver)) == snap


def _payouts(*ranges):
    return [{"min_place": a, "max_place": b, "prize": p} for a, b, p in ranges]


BAD_CONTESTS = {
    "gap": (
        {"payouts": _payouts((1, 1, 100), (3, 5, 10))},
        ["payouts[1]", "min_place", "should be 2", "gap"],
    ),
    "overlap": (
        {"payouts": _payouts((1, 2, 100), (2, 5, 10))},
        ["payouts[1]", "min_place", "overlap"],
    ),
    "not from 1": ({"payouts": _payouts((2, 3, 100))}, ["payouts[0]", "should be 1"]),
    "increasing prize": (
        {"payouts": _payouts((1, 1, 100), (2, 3, 150))},
        ["payouts[1]", "prize", "must not increase"],
    ),
    "beyond field": (
        {"field_size": 4, "max_entries": 1, "payouts": _payouts((1, 5, 1))},
        ["payouts[0]", "max_place", "beyond the field size 4"],
    ),
    "non-numeric fee": ({"entry_fee": "five"}, ["entry_fee", "not a number"]),
    "unknown site": ({"site": "yahoo"}, ["site", "not one of"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CONTESTS))
def test_bad_contest_writes_nothing(graph, tmp_path, capsys, case):
    driver, _ = graph
    change, expected = BAD_CONTESTS[case]
    p = tmp_path / "contest.json"
    p.write_text(json.dumps({**CONTEST, **change}))
    before = graph_counts(driver)
    rc, _, err = cli(capsys, "ingest", "contest", p, "--race", RACE)
    assert rc == 2 and str(p) in err
    for piece in expected:
        assert piece in err, (piece, err)
    assert graph_counts(driver) == before


def test_contest_truncated_or_unknown_race(graph, tmp_path, capsys):
    driver, _ = graph
    p = tmp_path / "contest.json"
    p.write_text(json.dumps(CONTEST)[:60])
    before = graph_counts(driver)
    rc, _, err = cli(capsys, "ingest", "contest", p, "--race", RACE)
    assert rc == 2 and "invalid or truncated JSON" in err and str(p) in err
    p.write_text(json.dumps(CONTEST))
    rc, _, err = cli(capsys, "ingest", "contest", p, "--race", "2031-mars-500")
    assert rc == 2 and "unknown race key" in err
    assert graph_counts(driver) == before


def test_ownership_sets_dk_own_pct(graph, tmp_path, capsys):
    driver, rows = graph
    spell = feed_salary_rows()
    players = [
        (spell.get(r["name"], r["name"]), f"{(i * 7.31) % 60:.2f}%") for i, r in enumerate(rows)
    ]
    p = write_dk_standings(tmp_path / "contest-standings.csv", players, n_entries=200)
    rc, out, err = cli(capsys, "ingest", "ownership", p, "--race", RACE)
    assert rc == 0, err
    assert f"{len(rows)} entries" in out
    after = _entries(driver)
    by_name = {r["name"]: r["id"] for r in rows}
    i = [r["name"] for r in rows].index("Daniel Suárez")
    assert after[by_name["Daniel Suárez"]]["dk_own_pct"] == pytest.approx(round((i * 7.31) % 60, 2))
    assert all("start_position" in e for e in after.values())
    # unmatched players and a bad percentage: nothing written
    snap = (graph_counts(driver), graph_checksum(driver))
    bad = list(players)
    bad[0] = ("Nobody Special", "12.5%")
    bad[1] = (bad[1][0], "112%")
    p2 = write_dk_standings(tmp_path / "bad.csv", bad)
    rc, _, err = cli(capsys, "ingest", "ownership", p2, "--race", RACE)
    assert rc == 2 and "'Nobody Special' (line 2)" in err and "line 3, field %Drafted" in err
    assert (graph_counts(driver), graph_checksum(driver)) == snap
