"""A contest's winning score and cash line: optional fields of the contest file, derived from
DraftKings contest standings by `ingest ownership`, stored on the race's contest, and nothing
stored when they are bad."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from nascar_pipeline.errors import UserInputError
from nascar_pipeline.ontology.parsers.contest import parse_contest
from nascar_pipeline.ontology.parsers.ownership import parse_ownership
from tests.support.cli import run_cli as cli
from tests.support.dk_files import CONTEST, write_dk_standings

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "ownership"
SAMPLE_KEY = "2026-03-01__sample-speedway-1"


def _sample_known() -> pd.DataFrame:
    slates = pd.read_csv(SAMPLES / "slates.csv")
    known = slates[["driver_id", "driver_name"]].drop_duplicates()
    return known.rename(columns={"driver_name": "name"})


def _sample_points() -> list[float]:
    """The sample's entries-block points, read with the csv module (independent of the parser)."""
    with open(SAMPLES / "standings" / f"{SAMPLE_KEY}.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [float(r["Points"]) for r in rows if r["Rank"].strip()]


def _contest(tmp_path, **extra) -> Path:
    p = tmp_path / "contest.json"
    p.write_text(json.dumps({**CONTEST, **extra}))
    return p


# ---------------------------------------------------------------- contest file
def test_contest_file_carries_winning_score_and_cash_line(tmp_path):
    c = parse_contest(_contest(tmp_path, winning_score=301.5, cash_line="187.25"), "k").contests
    assert c.loc[0, "winning_score"] == 301.5 and c.loc[0, "cash_line"] == 187.25
    plain = parse_contest(_contest(tmp_path), "k").contests  # optional: absent is null
    assert plain["winning_score"].isna().all() and plain["cash_line"].isna().all()


@pytest.mark.parametrize(
    "extra, words",
    [
        (
            {"winning_score": 200.0, "cash_line": 250.0},
            "field cash_line: 250.0 is above the winning",
        ),
        ({"cash_line": "lots"}, "field cash_line: 'lots' is not a number"),
        ({"winning_score": 1e9}, "field winning_score"),
    ],
)
def test_bad_contest_facts_name_the_field(tmp_path, extra, words):
    with pytest.raises(UserInputError) as e:
        parse_contest(_contest(tmp_path, **extra), "k")
    assert words in str(e.value) and "contest.json" in str(e.value)


# ---------------------------------------------------------------- standings
def test_standings_give_the_exact_winning_score_and_80th_percentile_score():
    pts = _sample_points()
    t = parse_ownership(SAMPLES / "standings" / f"{SAMPLE_KEY}.csv", SAMPLE_KEY, _sample_known())
    assert len(t.entries) > 0  # the ownership itself is unchanged
    (row,) = t.contests.to_dict("records")
    assert row["contest_id"] == f"dk-standings-{SAMPLE_KEY}" and row["site"] == "draftkings"
    assert row["winning_score"] == max(pts) == pts[0]
    # no contest known: the file's entries are the field, the 80th-percentile score the cash line
    assert row["field_size"] == len(pts)
    assert row["cash_line"] == sorted(pts, reverse=True)[math.ceil(0.2 * len(pts)) - 1]


def test_standings_attach_to_the_race_contest_and_use_its_paid_places():
    pts = _sample_points()
    path = SAMPLES / "standings" / f"{SAMPLE_KEY}.csv"
    paid10 = json.dumps([{"min_place": 1, "max_place": 10, "prize": 5.0}])
    contests = pd.DataFrame(
        {"contest_id": ["dk-1"], "site": ["draftkings"], "field_size": [3000], "payouts": [paid10]}
    )
    (row,) = parse_ownership(path, SAMPLE_KEY, _sample_known(), contests=contests).contests.to_dict(
        "records"
    )
    assert row["contest_id"] == "dk-1" and pd.isna(row["field_size"])  # stored fields kept
    assert row["cash_line"] == sorted(pts, reverse=True)[9]  # the 10th place: the last one paid
    # 3,000 entries, 20 % paid: rank 600 is beyond the file's 60 rows -> winning score only
    contests["payouts"] = None
    (row,) = parse_ownership(path, SAMPLE_KEY, _sample_known(), contests=contests).contests.to_dict(
        "records"
    )
    assert row["winning_score"] == max(pts) and pd.isna(row["cash_line"])


def test_bad_points_in_the_entries_block_name_line_and_field(tmp_path):
    p = write_dk_standings(tmp_path / "s.csv", [("Denny Hamlin", "12%")], n_entries=5)
    text = p.read_text().splitlines()
    cells = text[3].split(",")
    cells[4] = "n/a"
    text[3] = ",".join(cells)
    p.write_text("\n".join(text) + "\n")
    known = pd.DataFrame({"driver_id": [1361], "name": ["Denny Hamlin"]})
    with pytest.raises(UserInputError) as e:
        parse_ownership(p, "k", known)
    assert "line 4, field Points" in str(e.value)


# ---------------------------------------------------------------- stored (real Neo4j)
RACE = "2023-richmond-toyota-owners-400"


@pytest.fixture
def feed_graph(driver, shared_data, capsys):
    rc, _, err = cli(capsys, "ingest", "feed", shared_data / "feeds" / "weekend-feed.json")
    assert rc == 0, err
    recs, _, _ = driver.execute_query(
        "MATCH (d:Driver)-[:ENTERED]->(:Race {race_key: $k}) RETURN d.name AS name ORDER BY name",
        k=RACE,
    )
    return [r["name"] for r in recs]


def _contest_props(driver) -> dict:
    recs, _, _ = driver.execute_query(
        "MATCH (c:Contest)-[:FOR]->(:Race {race_key: $k}) RETURN c.contest_id AS id, c{.*} AS c",
        k=RACE,
    )
    return {r["id"]: r["c"] for r in recs}


@pytest.mark.neo4j
def test_ingest_stores_contest_facts_and_nothing_on_bad_input(driver, feed_graph, tmp_path, capsys):
    from tests.support.services.neo4j_server import graph_checksum, graph_counts

    payouts = [{"min_place": 1, "max_place": 40, "prize": 10}]
    contest = _contest(tmp_path, field_size=200, max_entries=1, payouts=payouts)
    rc, _, err = cli(capsys, "ingest", "contest", contest, "--race", RACE)
    assert rc == 0, err
    players = [(n, "10%") for n in feed_graph]
    standings = write_dk_standings(tmp_path / "standings.csv", players, n_entries=200)
    rc, _, err = cli(capsys, "ingest", "ownership", standings, "--race", RACE)
    assert rc == 0, err
    c = _contest_props(driver)
    assert set(c) == {CONTEST["contest_id"]}  # on the race's contest, no new one
    stored = c[CONTEST["contest_id"]]
    # the helper's entries score 250.5 - i at rank i + 1; place 40 is the last paid
    assert stored["winning_score"] == 250.5 and stored["cash_line"] == 250.5 - 39
    assert stored["entry_fee"] == CONTEST["entry_fee"]  # the contest file's fields kept

    snap = (graph_counts(driver), graph_checksum(driver))
    bad = _contest(tmp_path, field_size=200, payouts=payouts, winning_score=100, cash_line=150)
    rc, _, err = cli(capsys, "ingest", "contest", bad, "--race", RACE)
    assert rc == 2 and "cash_line" in err
    text = standings.read_text().splitlines()
    cells = text[5].split(",")
    cells[4] = "9999"  # beyond any lineup's points
    standings.write_text("\n".join([*text[:5], ",".join(cells), *text[6:]]) + "\n")
    rc, _, err = cli(capsys, "ingest", "ownership", standings, "--race", RACE)
    assert rc == 2 and "line 6, field Points" in err
    assert (graph_counts(driver), graph_checksum(driver)) == snap
