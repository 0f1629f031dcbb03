"""Driver names on a real Neo4j (issue 12 item 6): a driver is NASCAR's driver id; respellings
are one driver named by the latest race, the others kept as aliases; a salary name that matches
nobody gets "did you mean", an aliases file maps it and the re-run succeeds."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from tests.support.cli import run_cli as cli
from tests.support.services.neo4j_server import clear_database, graph_checksum

pytestmark = pytest.mark.neo4j

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "ingest"
RACES, RESULTS = SAMPLES / "races.csv", SAMPLES / "results.csv"


def names(driver) -> dict[int, tuple[str, list[str] | None]]:
    recs, _, _ = driver.execute_query(
        "MATCH (d:Driver) RETURN d.driver_id AS id, d.name AS name, d.aliases AS aliases"
    )
    return {r["id"]: (r["name"], r["aliases"]) for r in recs}


def race_key(driver, race_id: int) -> str:
    recs, _, _ = driver.execute_query(
        "MATCH (r:Race {race_id: $id}) RETURN r.race_key AS k", id=race_id
    )
    return recs[0]["k"]


def split_history(tmp_path: Path) -> tuple[tuple[Path, Path], tuple[Path, Path]]:
    """The sample history as two files, one per season."""
    out = []
    with open(RACES, newline="", encoding="utf-8") as fh:
        races = list(csv.reader(fh))
    with open(RESULTS, newline="", encoding="utf-8") as fh:
        results = list(csv.reader(fh))
    for season, race_id in (("2019", "4773"), ("2025", "5546")):
        folder = tmp_path / season
        folder.mkdir()
        for name, rows in (("races.csv", races), ("results.csv", results)):
            with open(folder / name, "w", newline="", encoding="utf-8") as fh:
                csv.writer(fh).writerows([rows[0]] + [r for r in rows[1:] if r[0] == race_id])
        out.append((folder / "races.csv", folder / "results.csv"))
    return out[0], out[1]


def test_respelled_history_is_one_driver_per_id(driver, capsys):
    rc, out, err = cli(capsys, "ingest", "history", RACES, RESULTS)
    assert rc == 0, err
    got = names(driver)
    assert len(got) == 5
    assert got[4113] == ("Daniel Suárez", ["Daniel Suarez"])
    assert got[4092] == ("John H. Nemechek", ["John Hunter Nemechek"])
    assert got[3888] == ("Ricky Stenhouse Jr", ["Ricky Stenhouse Jr."])
    assert got[1361] == ("Denny Hamlin", None)
    before = graph_checksum(driver)
    rc, out, err = cli(capsys, "ingest", "history", RACES, RESULTS)
    assert rc == 0 and "0 nodes and 0 relationships created" in out
    assert graph_checksum(driver) == before


def test_latest_spelling_wins_whatever_the_order_of_files(driver, capsys, tmp_path):
    assert cli(capsys, "ingest", "history", RACES, RESULTS)[0] == 0
    whole = graph_checksum(driver)
    old, new = split_history(tmp_path)
    for order in ((old, new), (new, old)):
        clear_database(driver)
        for races, results in order:
            rc, _, err = cli(capsys, "ingest", "history", races, results)
            assert rc == 0, err
        assert names(driver)[4113] == ("Daniel Suárez", ["Daniel Suarez"])
        assert graph_checksum(driver) == whole, order


def test_unmatched_salary_name_suggests_then_an_aliases_file_maps_it(driver, capsys):
    assert cli(capsys, "ingest", "history", RACES, RESULTS)[0] == 0
    key = race_key(driver, 5546)
    before = graph_checksum(driver)
    rc, _, err = cli(capsys, "ingest", "salaries", SAMPLES / "DKSalaries.csv", "--race", key)
    assert rc == 2
    assert str(SAMPLES / "DKSalaries.csv") in err and "field Name" in err
    assert "'John Nemechek' (line 6; did you mean John H. Nemechek (4092)" in err, err
    assert "ingest aliases" in err
    assert graph_checksum(driver) == before

    rc, out, err = cli(capsys, "ingest", "aliases", SAMPLES / "aliases.csv")
    assert rc == 0, err
    assert names(driver)[4092] == ("John H. Nemechek", ["John Hunter Nemechek", "John Nemechek"])
    after_alias = graph_checksum(driver)
    assert cli(capsys, "ingest", "aliases", SAMPLES / "aliases.csv")[0] == 0
    assert graph_checksum(driver) == after_alias  # idempotent

    rc, out, err = cli(capsys, "ingest", "salaries", SAMPLES / "DKSalaries.csv", "--race", key)
    assert rc == 0, err
    recs, _, _ = driver.execute_query(
        "MATCH (d:Driver)-[e:ENTERED]->(:Race {race_key: $k}) RETURN d.driver_id AS id, "
        "e.salary AS salary",
        k=key,
    )
    salaries = {r["id"]: r["salary"] for r in recs}
    assert salaries == {1361: 10500, 454: 8900, 4113: 7400, 3888: 6600, 4092: 7100}


def test_alias_from_the_command_line(driver, capsys):
    assert cli(capsys, "ingest", "history", RACES, RESULTS)[0] == 0
    rc, _, err = cli(capsys, "ingest", "aliases", "--name", "J.H. Nemechek", "--driver-id", 4092)
    assert rc == 0, err
    assert "J.H. Nemechek" in names(driver)[4092][1]


@pytest.mark.parametrize(
    "content,expected",
    [
        (
            "name,driver_id\nSomebody,999\n",
            "line 2, field driver_id: driver 999 is not in the graph",
        ),
        ("name,driver_id\nDenny Hamlin,4092\n", "line 2, field name: 'Denny Hamlin' already names"),
        ("name,driver_id\nJ Nem,4092\nJ Nem,1361\n", "line 3, field name: 'J Nem' is driver 4092"),
        ("name,driver_id\nJ Nem,10000000000000000000000\n", "line 2, field driver_id"),
        ("name\nJ Nem\n", "line 1 (header): missing column(s) driver_id"),
    ],
)
def test_bad_aliases_change_nothing(driver, capsys, tmp_path, content, expected):
    assert cli(capsys, "ingest", "history", RACES, RESULTS)[0] == 0
    before = graph_checksum(driver)
    p = tmp_path / "aliases.csv"
    p.write_text(content)
    rc, _, err = cli(capsys, "ingest", "aliases", p)
    assert rc == 2 and str(p) in err and expected in err, err
    assert "Traceback" not in err
    assert graph_checksum(driver) == before


def test_feed_spelling_of_a_later_race_renames(driver, capsys, tmp_path):
    assert cli(capsys, "ingest", "history", RACES, RESULTS)[0] == 0
    feed = tmp_path / "feed.json"
    shutil.copy(SAMPLES / "weekend-feed-grid.json", feed)
    rc, _, err = cli(capsys, "ingest", "feed", feed)
    assert rc == 0, err
    assert names(driver)[4092] == ("John Hunter Nemechek", ["John H. Nemechek"])
