"""An embedded world from real history files (`seed-demo --from-history`): the same races and
loop rows the Neo4j ingest of the same files gives (tests/ontology/test_ingest_loopdata.py reads
these samples through a real Neo4j), a bad file writes nothing, and a world rewritten without
loop data does not keep the last one's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nascar_pipeline.errors import UserInputError
from nascar_pipeline.sources.demo_world import generate_world
from nascar_pipeline.sources.embedded import LOOP_FILE, EmbeddedWorldSource, write_world
from nascar_pipeline.sources.history_world import world_from_history
from tests.support.cli import run_cli as cli

DATA = Path(__file__).resolve().parents[1] / "data"
PHOENIX = "2025-phoenix-shriners-children-s-500"


@pytest.fixture
def history(tmp_path) -> Path:
    folder = tmp_path / "history"
    folder.mkdir()
    shutil.copy(DATA / "ingest" / "races.csv", folder / "races.csv")
    shutil.copy(DATA / "ingest" / "results.csv", folder / "results.csv")
    shutil.copy(DATA / "loopdata" / "loopstats.csv", folder / "loopstats.csv")
    return folder


def test_a_race_reads_the_loop_rows_before_its_date_as_from_neo4j(history, tmp_path, capsys):
    rc, out, err = cli(capsys, "seed-demo", "--from-history", history, "--out", tmp_path / "world")
    assert rc == 0, err
    assert "loop data: 23 starts" in out and "no salaries or contests" in out
    source = EmbeddedWorldSource(tmp_path / "world")
    races = source.list_races()
    assert races["has_results"].all() and PHOENIX in set(races["race_key"])
    inputs = source.race_inputs(PHOENIX)
    hist = inputs.loop_history
    # the figures test_ingest_loopdata asserts of the same files through Neo4j
    assert len(hist) == 18 and (hist["race_date"] < "2025-03-09").all()
    assert set(hist["series"]) == {"cup", "xfinity", "truck"}
    assert set(hist["race_key"].dropna()) == {"2019-daytona-daytona-500"}
    assert source.race_inputs("2019-daytona-daytona-500").loop_history.empty
    assert inputs.entries["salary"].isna().all()
    # a lower-series driver new to the Cup is a driver of the world (his loop rows name him)
    assert 5001 in set(source.tables.drivers["driver_id"])


def test_missing_history_files_are_named(history):
    (history / "results.csv").unlink()
    with pytest.raises(UserInputError, match="results.csv: not found"):
        world_from_history(history)


@pytest.mark.parametrize(
    "cells,problem",
    [
        ({"race_id": 9999}, "field race_id: race 9999 is not in races.csv"),
        ({"race_date": "2019-02-19"}, "field race_date: 2019-02-19 but race 4773 ran on"),
    ],
)
def test_loop_rows_are_checked_against_the_races_as_the_ingest_does(
    history, tmp_path, capsys, cells, problem
):
    _edit_loop(history, **cells)
    out = tmp_path / "world"
    write_world(generate_world(seed=3, seasons=1), out)  # a world already there stays as it was
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    rc, _, err = cli(capsys, "seed-demo", "--from-history", history, "--out", out)
    assert rc == 2 and "line 3" in err and problem in err, err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_loop_date_one_day_off_takes_the_races_date(history):
    _edit_loop(history, race_date="2019-02-18")  # a night race dated by its UTC day
    loop = world_from_history(history).loop_stats
    keyed = loop.dropna(subset=["race_key"])
    busch = keyed[(keyed["driver_id"] == 454) & (keyed["race_key"] == "2019-daytona-daytona-500")]
    assert busch["race_date"].tolist() == ["2019-02-17"]


def test_a_day_off_onto_a_doubleheaders_other_race_is_refused(history):
    """Two races at one track on consecutive days (Pocono 2020, 2021): a row dated the other
    race's day with this race's id is a swapped id, not a night race's UTC day."""
    from nascar_pipeline.ontology.parsers.history import parse_history
    from nascar_pipeline.ontology.parsers.loopdata import key_loop_rows, parse_loopdata

    t = parse_history(history / "races.csv", history / "results.csv")
    races = {
        int(r.race_id): {"race_key": r.race_key, "race_date": r.race_date,
                         "track_name": r.track_name, "starters": 40}
        for r in t.races.itertuples()
    }  # fmt: skip
    races[99999] = {**races[4773], "race_key": "2019-daytona-second", "race_date": "2019-02-18"}
    _edit_loop(history, race_date="2019-02-18")  # race 4773's row on the other race's day
    with pytest.raises(UserInputError, match="line 3, field race_date: 2019-02-18 but race 4773"):
        key_loop_rows(parse_loopdata(history / "loopstats.csv"), races, "loop.csv", set())
    del races[99999]  # no race that day: a night race dated by its UTC day
    keyed = key_loop_rows(parse_loopdata(history / "loopstats.csv"), races, "loop.csv", set())
    assert "2019-02-18" not in set(
        keyed.loop_stats["race_date"].dropna()[keyed.loop_stats["race_key"].notna()]
    )


def _edit_loop(history, **cells) -> None:
    """Change `cells` on file line 3 of the loop CSV (Kyle Busch at Daytona 2019, race 4773)."""
    rows = (history / "loopstats.csv").read_text().splitlines()
    header, cols = rows[0].split(","), rows[2].split(",")
    for k, v in cells.items():
        cols[header.index(k)] = str(v)
    rows[2] = ",".join(cols)
    (history / "loopstats.csv").write_text("\n".join(rows) + "\n")


def test_a_world_rewritten_without_loop_data_drops_the_old_loop_file(history, tmp_path):
    folder = tmp_path / "world"
    write_world(world_from_history(history), folder)
    assert (folder / LOOP_FILE).is_file()
    write_world(generate_world(seed=3, seasons=1), folder)
    assert not (folder / LOOP_FILE).exists()
    source = EmbeddedWorldSource(folder)
    key = source.list_races()["race_key"].iloc[-1]
    assert source.race_inputs(key).loop_history.empty


def test_the_whole_real_history_becomes_a_world(shared_data, tmp_path):
    world = world_from_history(shared_data / "history")
    assert len(world.races) == 249 and len(world.results) == 9428
    assert set(world.loop_stats["series"]) == {"cup", "xfinity", "truck"}
    # Cup rows keyed by NASCAR race id to the history's races (README: 8,737 starts), each on
    # its race's date (1,825 rows of 48 races are dated a day off in the file)
    loop = world.loop_stats
    assert int(loop["race_key"].notna().sum()) == 8737
    cup = loop.dropna(subset=["race_key"]).merge(world.races, on="race_key", suffixes=("", "_r"))
    assert (cup["race_date"] == cup["race_date_r"]).all()
    write_world(world, tmp_path / "w")
    inputs = EmbeddedWorldSource(tmp_path / "w").race_inputs(
        world.races.sort_values("race_date")["race_key"].iloc[-1]
    )
    assert len(inputs.history) > 9000 and len(inputs.loop_history) > 24000
