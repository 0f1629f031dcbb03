"""`ingest loopdata` against a real Neo4j: the sample CSV (tests/data/loopdata: two Cup races of
tests/data/ingest's history, a Cup exhibition, an Xfinity race with a driver new to the graph and
a Truck doubleheader) and the sample loopstats feed JSON; every kind of bad row exits 2 naming
file, line and field with nothing stored changed; a re-ingest changes nothing; a race's inputs
carry the loop rows before its date. The whole real loopstats.csv parses (no Neo4j)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nascar_pipeline.ontology.parsers.loopdata import parse_loopdata
from nascar_pipeline.sources.neo4j_source import Neo4jRaceSource
from tests.support.cli import run_cli as cli
from tests.support.services.neo4j_server import graph_checksum

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE = DATA / "loopdata" / "loopstats.csv"
FEED = DATA / "loopdata" / "loopstats-feed.json"
PHOENIX = "2025-phoenix-shriners-children-s-500"
HAMLIN, NEMECHEK, ZILISCH = 1361, 4092, 5001


@pytest.fixture
def graph(driver, capsys):
    rc, _, err = cli(
        capsys, "ingest", "history", DATA / "ingest" / "races.csv", DATA / "ingest" / "results.csv"
    )
    assert rc == 0, err
    return driver


def _loop(driver) -> dict:
    recs, _, _ = driver.execute_query(
        "MATCH (d:Driver)-[l:RAN_LOOP]->(x) RETURN d.driver_id AS d, labels(x)[0] AS at, "
        "coalesce(x.race_key, x.race_day_id) AS key, l{.*} AS l"
    )
    return {(r["d"], r["key"], r["l"]["start_of_day"]): (r["at"], r["l"]) for r in recs}


def test_sample_csv_attaches_cup_rows_to_races_and_keeps_lower_series(graph, capsys):
    rc, out, err = cli(capsys, "ingest", "loopdata", SAMPLE)
    assert rc == 0, err
    assert "23 loop_stats" in out
    loop = _loop(graph)
    assert len(loop) == 23
    at, hamlin = loop[(HAMLIN, PHOENIX, 1)]
    assert at == "Race" and hamlin["series"] == "cup" and hamlin["race_id"] == 5546
    assert hamlin["race_date"] == "2025-03-09" and hamlin["finish_position"] == 2
    at, rookie = loop[(ZILISCH, "xfinity|2025-03-08|Phoenix Raceway", 1)]
    assert at == "SeriesRaceDay" and rookie["laps_led"] == 150
    # the Truck doubleheader: two starts of one driver that day, both kept
    assert {k[2] for k in loop if k[:2] == (ZILISCH, "truck|2024-07-20|Kansas Speedway")} == {1, 2}
    assert loop[(HAMLIN, "cup|2025-02-02|Bowman Gray Stadium", 1)][0] == "SeriesRaceDay"
    names, _, _ = graph.execute_query(
        "MATCH (d:Driver {driver_id: $id}) RETURN d.name AS n", id=ZILISCH
    )
    assert names[0]["n"] == "Connor Zilisch"

    # a race's inputs: loop rows strictly before its date, every series
    source = Neo4jRaceSource(graph)
    hist = source.race_inputs(PHOENIX).loop_history
    assert len(hist) == 18 and (hist["race_date"] < "2025-03-09").all()
    assert set(hist["series"]) == {"cup", "xfinity", "truck"}
    cup = hist[hist["race_key"].notna()]
    assert set(cup["race_key"]) == {"2019-daytona-daytona-500"}
    assert source.race_inputs("2019-daytona-daytona-500").loop_history.empty

    before = graph_checksum(graph)
    rc, out, err = cli(capsys, "ingest", "loopdata", SAMPLE)
    assert rc == 0, err
    assert graph_checksum(graph) == before


def test_feed_layout_reads_fast_laps_like_ingest_feed(graph, capsys):
    rc, out, err = cli(capsys, "ingest", "loopdata", FEED)
    assert rc == 0, err
    loop = _loop(graph)
    assert set(loop) == {(NEMECHEK, PHOENIX, 1), (HAMLIN, PHOENIX, 1)}
    _, row = loop[(NEMECHEK, PHOENIX, 1)]
    assert row["fastest_laps"] == 41 and row["avg_running_position"] == 2.35
    assert row["race_date"] == "2025-03-09" and row["track_name"] == "Phoenix Raceway"
    assert row["pct_laps_led"] == pytest.approx(100 * 205 / 312)
    before = graph_checksum(graph)
    assert cli(capsys, "ingest", "loopdata", FEED)[0] == 0
    assert graph_checksum(graph) == before


def _edit(tmp_path, line: int, **cells) -> Path:
    """The sample with `cells` changed on file line `line` (2 = first data row)."""
    rows = SAMPLE.read_text().splitlines()
    header = rows[0].split(",")
    cols = rows[line - 1].split(",")
    for k, v in cells.items():
        cols[header.index(k)] = str(v)
    rows[line - 1] = ",".join(cols)
    p = tmp_path / "loop.csv"
    p.write_text("\n".join(rows) + "\n")
    return p


# line 3: Kyle Busch at Daytona 2019 (Cup, race 4773, 5 cars in the file, started 31st)
BAD_ROWS = [
    ({"series": "Indy"}, "series", "not Cup"),
    ({"race_id": "abc"}, "race_id", "not a whole number"),
    ({"race_date": "2019-02-30"}, "race_date", "not a valid date"),
    ({"driver_id": ""}, "driver_id", "missing value"),
    ({"start_position": 0}, "start_position", "below 1"),
    ({"finish_position": 101}, "finish_position", "above 100"),
    ({"mid_race_position": 36}, "mid_race_position", "beyond the race's field of 35"),
    ({"avg_running_position": "x"}, "avg_running_position", "not a number"),
    ({"best_position": 5, "worst_position": 4}, "best_position", "behind worst_position"),
    ({"laps_led": 208}, "laps_led", "above laps_completed"),
    ({"fastest_laps": -1}, "fastest_laps", "below 0"),
    ({"quality_passes": 27}, "quality_passes", "above green_flag_passes"),
    ({"green_flag_passing_diff": 0}, "green_flag_passing_diff", "not green_flag_passes"),
    ({"pct_laps_led": 50}, "pct_laps_led", "is not 100 * laps_led"),
    ({"pct_quality_passes": -5}, "pct_quality_passes", "below 0"),
    ({"driver_rating": 151}, "driver_rating", "above 150"),
    ({"series": "Trucks"}, "race_id", "Cup rows only"),
    ({"driver_id": 1361}, "driver_id", "duplicate driver 1361 in race 4773"),
]


@pytest.mark.parametrize("cells,field,problem", BAD_ROWS, ids=[b[1] for b in BAD_ROWS])
def test_each_bad_row_is_refused_naming_line_and_field(graph, capsys, tmp_path, cells, field,
                                                        problem):  # fmt: skip
    before = graph_checksum(graph)
    bad = _edit(tmp_path, 3, **cells)
    rc, _, err = cli(capsys, "ingest", "loopdata", bad)
    assert rc == 2
    assert str(bad) in err and "line 3" in err and f"field {field}" in err and problem in err
    assert graph_checksum(graph) == before


@pytest.mark.parametrize(
    "cells,field,problem",
    [
        ({"race_id": 9999}, "race_id", "race 9999 is not in the graph"),
        ({"race_date": "2019-02-19"}, "race_date", "race 4773 ran on 2019-02-17"),
        ({"race_date": "2019-02-15"}, "race_date", "race 4773 ran on 2019-02-17"),
    ],
)
def test_rows_against_the_graph_are_refused_with_nothing_stored(
    graph, capsys, tmp_path, cells, field, problem
):
    before = graph_checksum(graph)
    bad = _edit(tmp_path, 3, **cells)
    rc, _, err = cli(capsys, "ingest", "loopdata", bad)
    assert rc == 2 and "line 3" in err and f"field {field}" in err and problem in err, err
    assert graph_checksum(graph) == before


def test_a_date_one_day_off_takes_the_races_date(graph, capsys, tmp_path):
    """NASCAR's loop data dates a Saturday-night race by its UTC day (and a race postponed a day
    by its scheduled one): 48 races of the real file. The race id decides; the race's date is
    stored, so the row never counts as history of its own race."""
    shifted = _edit(tmp_path, 3, race_date="2019-02-18")
    rc, _, err = cli(capsys, "ingest", "loopdata", shifted)
    assert rc == 0, err
    busch = _loop(graph)[(454, "2019-daytona-daytona-500", 1)][1]
    assert busch["race_date"] == "2019-02-17"
    before = graph_checksum(graph)
    assert cli(capsys, "ingest", "loopdata", shifted)[0] == 0  # a re-ingest changes nothing
    assert graph_checksum(graph) == before


def test_bad_feed_is_refused(graph, capsys, tmp_path):
    before = graph_checksum(graph)
    text = FEED.read_text()
    cases = [
        (text.replace('"series_id": 1', '"series_id": 2'), "series_id", "only Cup races"),
        (text.replace('"driver_id": 1361', '"driver_id": 77777'), "driver_id", "unknown driver"),
        (text.replace('"mid_ps": 3', '"mid_ps": 10'), "mid_race_position", "field of 9 cars"),
        (text.replace('"fast_laps": 41', '"fast_laps": -2'), "fast_laps", "below 0"),
    ]
    for i, (body, field, problem) in enumerate(cases):
        p = tmp_path / f"feed{i}.json"
        p.write_text(body)
        rc, _, err = cli(capsys, "ingest", "loopdata", p)
        assert rc == 2 and f"field {field}" in err and problem in err, (field, err)
        assert "drivers[" in err or field == "series_id", err
    assert graph_checksum(graph) == before


def test_whole_real_loopstats_csv_parses(shared_data):
    """The real file (no Neo4j): every row valid; counts as the data README gives them."""
    tables = parse_loopdata(shared_data / "history" / "loopstats.csv")
    loop = tables.loop_stats
    counts = loop["series"].value_counts().to_dict()
    print(
        f"loopstats.csv: {len(loop)} starts {counts}, {loop['race_id'].notna().sum()} Cup starts "
        f"with a race id ({loop['race_id'].nunique()} races), {len(tables.drivers)} drivers, "
        f"{int((loop['start_of_day'] > 1).sum())} second starts of a day"
    )
    assert counts == {"cup": 10285, "xfinity": 8736, "truck": 5681}
    assert loop["race_id"].notna().sum() == 8737


def test_whole_real_history_then_loopstats_ingest(driver, capsys, shared_data):
    """The real files, as a user ingests them: history, then its loop data. 1,825 Cup rows of 48
    races are dated a day from their race in the file (night races by their UTC day); they
    attach to their races with the race's date, and a race's inputs read them back."""
    history = shared_data / "history"
    rc, _, err = cli(capsys, "ingest", "history", history / "races.csv", history / "results.csv")
    assert rc == 0, err
    rc, out, err = cli(capsys, "ingest", "loopdata", history / "loopstats.csv")
    assert rc == 0, err
    recs, _, _ = driver.execute_query(
        "MATCH (:Driver)-[l:RAN_LOOP]->(r:Race) RETURN count(l) AS n, "
        "sum(CASE WHEN l.race_date = r.race_date THEN 1 ELSE 0 END) AS same_day"
    )
    assert (recs[0]["n"], recs[0]["same_day"]) == (8737, 8737)
    total, _, _ = driver.execute_query("MATCH ()-[l:RAN_LOOP]->() RETURN count(l) AS n")
    assert total[0]["n"] == 24702
    source = Neo4jRaceSource(driver)
    last = source.list_races().sort_values("race_date")["race_key"].iloc[-1]
    hist = source.race_inputs(last).loop_history
    assert len(hist) > 24000 and hist["race_key"].notna().sum() > 8600


def test_doc_examples_parse(tmp_path):
    from tests.ontology.test_input_formats_doc import examples

    csv_text, feed_text = examples()["Loop data (loopstats CSV or NASCAR loopstats JSON)"]
    (tmp_path / "loop.csv").write_text(csv_text)
    (tmp_path / "loop.json").write_text(feed_text)
    loop = parse_loopdata(tmp_path / "loop.csv").loop_stats
    assert list(loop["series"]) == ["cup", "xfinity"]
    feed = parse_loopdata(tmp_path / "loop.json").loop_stats
    assert feed.loc[0, "fastest_laps"] == 41 and feed.loc[0, "driver_rating"] == 141.2
