"""`ingest feed` / `ingest schedule` against a real Neo4j: real results, keys, bad JSON."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_cli as cli
from tests.support.services.neo4j_server import (
    graph_checksum,
    graph_counts,
)

pytestmark = pytest.mark.neo4j

RACE = "2023-richmond-toyota-owners-400"


def _finish(driver, name):
    recs, _, _ = driver.execute_query(
        "MATCH (d:Driver {name: $name})-[f:FINISHED]->(r:Race {race_key: $key}) "
        "MATCH (d)-[e:ENTERED]->(r) RETURN f{.*} AS f, e{.*} AS e",
        name=name,
        key=RACE,
    )
    return recs[0]["f"], recs[0]["e"]


def test_list_races_on_an_empty_graph(driver):
    from nascar_pipeline.core.tables import RACES_COLUMNS
    from nascar_pipeline.sources.neo4j_source import Neo4jRaceSource

    races = Neo4jRaceSource(driver).list_races()
    assert len(races) == 0
    assert list(races.columns) == [*RACES_COLUMNS, "content_hash", "has_results"]


def test_weekend_feed_with_real_results(driver, shared_data, capsys):
    feed = shared_data / "feeds" / "weekend-feed.json"
    rc, out, err = cli(capsys, "ingest", "feed", feed)
    assert rc == 0, err
    assert "1 races, 37 drivers, 37 entries, 37 results" in out
    f, e = _finish(driver, "Kyle Larson")
    assert (f["position"], f["laps_led"], f["laps_completed"], f["status"]) == (
        1,
        93,
        400,
        "running",
    )
    assert (e["start_position"], e["car_number"], e["team"], e["manufacturer"]) == (
        9,
        "5",
        "Hendrick Motorsports",
        "Chevrolet",
    )
    f, _ = _finish(driver, "Noah Gragson")
    assert (f["position"], f["laps_completed"], f["status"]) == (37, 303, "accident")
    f, _ = _finish(driver, "Christopher Bell")
    assert (f["position"], f["laps_led"]) == (4, 26)
    recs, _, _ = driver.execute_query(
        "MATCH (r:Race {race_key: $key})-[:AT]->(t:Track) RETURN r{.*} AS r, t{.*} AS t", key=RACE
    )
    r, t = recs[0]["r"], recs[0]["t"]
    assert (r["race_id"], r["race_date"], r["status"], r["laps"], r["scheduled_laps"]) == (
        5274,
        "2023-04-02",
        "final",
        400,
        400,
    )
    assert r["lock_time"] == "2023-04-02T19:30:00+00:00"  # 15:30 EDT
    assert (t["type"], t["length_miles"]) == ("short", 0.75)
    # re-import: nothing changes
    before = (graph_counts(driver), graph_checksum(driver))
    assert cli(capsys, "ingest", "feed", feed)[0] == 0
    assert (graph_counts(driver), graph_checksum(driver)) == before


def test_feed_with_loopstats_sets_fastest_laps(driver, shared_data, tmp_path, capsys):
    loop = [
        {
            "race_id": 5274,
            "race_name": "Toyota Owners 400",
            "series_id": 1,
            "drivers": [{"driver_id": 4030, "fast_laps": 61}, {"driver_id": 4224, "fast_laps": 0}],
        }
    ]
    p = tmp_path / "loopstats.json"
    p.write_text("\ufeff" + json.dumps(loop), encoding="utf-8")  # BOM, as the live feeds
    rc, _, err = cli(
        capsys, "ingest", "feed", shared_data / "feeds" / "weekend-feed.json", "--loopstats", p
    )
    assert rc == 0, err
    assert _finish(driver, "Kyle Larson")[0]["fastest_laps"] == 61
    assert _finish(driver, "Noah Gragson")[0]["fastest_laps"] == 0
    assert "fastest_laps" not in _finish(driver, "Josh Berry")[0]


def test_loopstats_of_another_race_is_rejected(driver, shared_data, capsys):
    loop = shared_data / "feeds" / "loopstats-sample.json"  # race 5617, not in the feed
    rc, _, err = cli(
        capsys, "ingest", "feed", shared_data / "feeds" / "weekend-feed.json", "--loopstats", loop
    )
    assert rc == 2 and str(loop) in err and "5617" in err and "race_id" in err
    assert graph_counts(driver) == {}


def test_truncated_and_corrupt_feed(driver, shared_data, tmp_path, capsys):
    text = (shared_data / "feeds" / "weekend-feed.json").read_text(encoding="utf-8-sig")
    trunc = tmp_path / "truncated.json"
    trunc.write_text(text[: len(text) // 2], encoding="utf-8")
    rc, _, err = cli(capsys, "ingest", "feed", trunc)
    assert rc == 2 and str(trunc) in err and "line" in err and "invalid or truncated JSON" in err
    data = json.loads(text)
    data["weekend_race"][0]["results"][3]["finishing_position"] = 1
    data["weekend_race"][0]["results"][5]["laps_led"] = "lots"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    rc, _, err = cli(capsys, "ingest", "feed", bad)
    assert rc == 2 and str(bad) in err
    assert "weekend_race[0].results[5], field laps_led" in err and "not a whole number" in err
    assert "not a permutation" in err
    assert graph_counts(driver) == {}


def test_schedule_then_feed_keeps_keys(driver, shared_data, capsys):
    rc, out, err = cli(capsys, "ingest", "schedule", shared_data / "feeds" / "race_list_basic.json")
    assert rc == 0, err
    recs, _, _ = driver.execute_query(
        "MATCH (r:Race) RETURN count(r) AS n, collect(DISTINCT r.status) AS s"
    )
    assert recs[0]["n"] == 36 and recs[0]["s"] == ["scheduled"]  # points races, no exhibitions
    recs, _, _ = driver.execute_query(
        "MATCH (r:Race) WHERE r.race_name CONTAINS 'Clash' OR r.race_name CONTAINS 'Duel' "
        "OR r.race_name CONTAINS 'All-Star' RETURN count(r) AS n"
    )
    assert recs[0]["n"] == 0
    from nascar_pipeline.sources.neo4j_source import Neo4jRaceSource

    assert len(Neo4jRaceSource(driver).race_results(RACE)) == 0  # scheduled: no results yet
    assert cli(capsys, "ingest", "feed", shared_data / "feeds" / "weekend-feed.json")[0] == 0
    assert len(Neo4jRaceSource(driver).race_results(RACE)) == 37
    recs, _, _ = driver.execute_query(
        "MATCH (r:Race {race_id: 5274}) RETURN r.race_key AS k, r.status AS s"
    )
    assert (recs[0]["k"], recs[0]["s"]) == (RACE, "final")
    # a schedule re-import leaves the finished race final
    before = graph_checksum(driver)
    assert cli(capsys, "ingest", "schedule", shared_data / "feeds" / "race_list_basic.json")[0] == 0
    assert graph_checksum(driver) == before


def test_schedule_keeps_history_keys(driver, shared_data, tmp_path, capsys):
    """The 2023 schedule names some races differently from the history file: a race keeps the
    key it was first given (matched by race_id)."""
    races = shared_data / "history" / "races.csv"
    lines = races.read_text(encoding="utf-8").splitlines()
    r2023 = tmp_path / "races.csv"
    r2023.write_text("\n".join([lines[0]] + [l for l in lines[1:] if ",2023," in l]) + "\n")
    res = shared_data / "history" / "results.csv"
    ids = {l.split(",")[0] for l in r2023.read_text().splitlines()[1:]}
    rl = res.read_text(encoding="utf-8").splitlines()
    res2023 = tmp_path / "results.csv"
    res2023.write_text("\n".join([rl[0]] + [l for l in rl[1:] if l.split(",")[0] in ids]) + "\n")
    assert cli(capsys, "ingest", "history", r2023, res2023)[0] == 0
    rc, out, _ = cli(capsys, "ingest", "schedule", shared_data / "feeds" / "race_list_basic.json")
    assert rc == 0 and "kept existing keys" in out
    recs, _, _ = driver.execute_query(
        "MATCH (r:Race {race_id: 5297}) RETURN r.race_key AS k, r.race_name AS n, r.status AS s, "
        "r.scheduled_laps AS sl"
    )
    assert recs[0]["k"] == "2023-richmond-cook-out-400"
    assert (recs[0]["n"], recs[0]["s"], recs[0]["sl"]) == ("Cook Out 400", "final", 400)
    recs, _, _ = driver.execute_query("MATCH (r:Race) RETURN count(r) AS n")
    assert recs[0]["n"] == 36
