"""The race-week sample set (tests/data/raceweek/): every file parses with the project's parsers,
the slate is consistent (names, ids, contests, projections, steering, a valid lineup), the
generator reproduces the committed files, and the whole set ingests into a real Neo4j in the
runbook's order, giving the race's inputs a build needs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core.contests import contest_steering
from nascar_pipeline.core.dk_entries import (
    check_slate,
    contest_counts,
    entries_per_contest,
    parse_entries,
)
from nascar_pipeline.core.rules import DRAFTKINGS
from nascar_pipeline.core.steering import check_feasible, parse_steering
from nascar_pipeline.errors import UserInputError
from nascar_pipeline.ontology.parsers._common import collecting_warnings
from nascar_pipeline.ontology.parsers.aliases import parse_aliases
from nascar_pipeline.ontology.parsers.contest import parse_contest
from nascar_pipeline.ontology.parsers.feed import parse_feed
from nascar_pipeline.ontology.parsers.history import parse_history
from nascar_pipeline.ontology.parsers.projections import parse_projections
from nascar_pipeline.ontology.parsers.salaries import parse_salaries
from nascar_pipeline.ontology.parsers.schedule import parse_schedule

DATA = Path(__file__).resolve().parents[1] / "data" / "raceweek"
RACE = "2026-kansas-hollywood-casino-400"
GPP, SINGLE = "dk-184301527", "dk-184302913"
RESPELLED = {  # driver id: (NASCAR's latest spelling, the earlier one)
    4113: ("Daniel Suárez", "Daniel Suarez"),
    4092: ("John H. Nemechek", "John Hunter Nemechek"),
    3888: ("Ricky Stenhouse Jr", "Ricky Stenhouse Jr."),
}
GENERATED = [
    "races.csv",
    "results.csv",
    "race_list_basic.json",
    "weekend-feed.json",
    "DKSalaries.csv",
    "aliases.csv",
    "contests.json",
    "projections.csv",
    "DKEntries.csv",
    "steering.yaml",
]


def f(name: str) -> str:
    return str(DATA / name)


# ----------------------------------------------------------------------------- parsed, no Neo4j


@pytest.fixture(scope="module")
def history():
    with collecting_warnings() as warned:
        tables = parse_history(f("races.csv"), f("results.csv"))
    return tables, warned


@pytest.fixture(scope="module")
def feed():
    return parse_feed(f("weekend-feed.json"))


@pytest.fixture(scope="module")
def known(history, feed):
    """Every spelling the graph knows after history + feed (what `drivers()` hands the
    name-matching parsers: one row per name or alias), before the aliases file."""
    spellings = pd.concat([history[0].spellings, feed.spellings])
    return spellings[["driver_id", "name"]].drop_duplicates().reset_index(drop=True)


@pytest.fixture(scope="module")
def known_with_aliases(known):
    aliases = parse_aliases(f("aliases.csv"), known).aliases
    extra = aliases.rename(columns={"alias": "name"})[["driver_id", "name"]]
    return pd.concat([known, extra], ignore_index=True)


@pytest.fixture(scope="module")
def entry_ids(feed):
    return [int(d) for d in feed.entries["driver_id"]]


@pytest.fixture(scope="module")
def slate(known_with_aliases, entry_ids, feed):
    """The race's DraftKings slate: driver, NASCAR name, salary, DK id, in DKSalaries order."""
    e = parse_salaries(f("DKSalaries.csv"), RACE, known_with_aliases, entry_ids).entries
    names = dict(zip(feed.drivers["driver_id"].astype(int), feed.drivers["name"]))
    return pd.DataFrame(
        {
            "driver_id": e["driver_id"].astype("int64"),
            "driver_name": [names[int(d)] for d in e["driver_id"]],
            "salary": e["salary"].astype("int64"),
            "dk_id": e["dk_id"].astype("int64"),
        }
    )


def test_history_two_seasons_respelled_drivers_pandas_numbers_and_a_missing_car(history):
    tables, warned = history
    races = tables.races
    assert len(races) == 14 and set(races["season"]) == {2024, 2025}
    starters = tables.results.groupby("race_key").size()
    assert starters.between(36, 38).all(), starters.to_dict()
    for did, (latest, earlier) in RESPELLED.items():
        spelled = set(tables.spellings.loc[tables.spellings["driver_id"] == did, "name"])
        assert spelled == {latest, earlier}
        assert tables.drivers.loc[tables.drivers["driver_id"] == did, "name"].tolist() == [latest]
    text = (DATA / "results.csv").read_text(encoding="utf-8")
    assert re.search(r",\d+\.0,", text), "results.csv should hold pandas-style whole numbers"
    assert [w.count for w in warned] == [1] and "car_number" in warned[0].text("warning")
    assert tables.entries["car_number"].isna().sum() == 1


def test_schedule_holds_the_new_race_and_only_cup_points_races():
    races = parse_schedule(f("race_list_basic.json")).races
    assert RACE in set(races["race_key"])
    row = races.set_index("race_key").loc[RACE]
    assert row["status"] == "scheduled" and row["race_date"] == "2026-09-27"
    assert row["track_type"] == "intermediate"
    assert not races["race_name"].str.contains("Clash").any()  # an exhibition: not a DFS slate


def test_feed_is_the_grid_of_a_race_not_yet_run(feed):
    assert feed.races["race_key"].tolist() == [RACE]
    assert feed.races["status"].tolist() == ["scheduled"]
    assert feed.races["lock_time"].tolist() == ["2026-09-27T19:00:00+00:00"]
    assert len(feed.results) == 0
    assert len(feed.entries) == 36
    assert sorted(feed.entries["start_position"].astype(int)) == list(range(1, 37))
    assert (DATA / "weekend-feed.json").read_bytes().startswith(b"\xef\xbb\xbf")


def test_salaries_need_the_aliases_file_then_cover_the_entry_list(known, entry_ids, slate):
    with pytest.raises(UserInputError, match=r"John Nemechek.*John H\. Nemechek \(4092\)"):
        parse_salaries(f("DKSalaries.csv"), RACE, known, entry_ids)
    assert len(slate) == 36 and set(slate["driver_id"]) == set(entry_ids)
    assert slate["salary"].between(4500, 11000).all()
    assert (slate["salary"] % 100 == 0).all()
    # the cap binds: the six most expensive drivers do not fit
    assert slate["salary"].nlargest(DRAFTKINGS.roster_size).sum() > DRAFTKINGS.salary_cap


def test_two_contests_a_150_max_gpp_and_a_single_entry():
    contests = parse_contest(f("contests.json"), RACE).contests.set_index("contest_id")
    assert sorted(contests.index) == [GPP, SINGLE]
    assert contests.loc[GPP, "max_entries"] == 150 and contests.loc[GPP, "field_size"] > 10_000
    assert contests.loc[SINGLE, "max_entries"] == 1


def test_projections_name_only_slate_drivers(known_with_aliases, slate):
    race_entries = slate[["driver_id", "dk_id"]].assign(fd_id=None)
    e = parse_projections(f("projections.csv"), RACE, known_with_aliases, race_entries).entries
    assert set(e["driver_id"]) == set(slate["driver_id"])
    assert (e["user_proj_floor"] <= e["user_proj_points"]).all()
    assert (e["user_proj_points"] <= e["user_proj_ceiling"]).all()
    assert 550 <= e["user_own_pct"].sum() <= 650  # six roster spots: about 600 %


def test_dk_entries_are_this_slate_and_these_contests(slate):
    parsed = parse_entries((DATA / "DKEntries.csv").read_bytes())
    assert set(parsed.players) == set(slate["dk_id"])
    counts = entries_per_contest(parsed)
    assert contest_counts(counts, [GPP, SINGLE]) == {GPP: 5, SINGLE: 1}
    check_slate(parsed, slate)
    assert all(not any(e.slots) for e in parsed.entries)  # reservations, to be filled


def test_steering_is_feasible_and_a_valid_lineup_exists(slate):
    steering = parse_steering((DATA / "steering.yaml").read_text(), "yaml")
    assert steering.lock and steering.exclude and steering.groups
    assert any(e.max is not None for e in steering.exposures)
    arrays = check_feasible(steering, slate)
    # the single-entry contest's steering: one lineup, the single-entry global cap
    check_feasible(contest_steering(steering, 1, global_max_asked=True), slate)
    rng = np.random.default_rng(0)
    others = np.setdiff1d(np.arange(len(slate)), arrays.locks)
    picks = np.array([rng.choice(others, 6 - arrays.locks.size, replace=False)
                      for _ in range(20_000)])  # fmt: skip
    lineups = np.hstack([np.tile(arrays.locks, (len(picks), 1)), picks])
    assert arrays.lineup_ok(lineups).any()


def test_the_generator_reproduces_the_committed_files(tmp_path):
    spec = importlib.util.spec_from_file_location("raceweek_generate", DATA / "generate.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.main(tmp_path)
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
    assert gen.RACE_KEY == RACE


# ----------------------------------------------------------------------------- on a real Neo4j


@pytest.mark.neo4j
def test_the_race_week_ingests_in_runbook_order(driver, capsys):
    from nascar_pipeline.sources.neo4j_source import Neo4jRaceSource
    from tests.support.cli import run_cli
    from tests.support.services.neo4j_server import graph_checksum

    def ok(*args):
        rc, out, err = run_cli(capsys, *args)
        assert rc == 0, f"{args}: {err}"
        return out, err

    ok("ontology", "init")
    _, err = ok("ingest", "history", f("races.csv"), f("results.csv"))
    assert "warning" in err and "car_number" in err
    ok("ingest", "schedule", f("race_list_basic.json"))
    ok("ingest", "feed", f("weekend-feed.json"))
    # DraftKings' "John Nemechek" is no NASCAR spelling: refused with a suggestion, nothing stored
    before = graph_checksum(driver)
    rc, _, err = run_cli(capsys, "ingest", "salaries", f("DKSalaries.csv"), "--race", RACE)
    assert rc == 2 and "John H. Nemechek (4092)" in err
    assert graph_checksum(driver) == before
    ok("ingest", "aliases", f("aliases.csv"))
    ok("ingest", "salaries", f("DKSalaries.csv"), "--race", RACE)
    ok("ingest", "contest", f("contests.json"), "--race", RACE)
    ok("ingest", "projections", f("projections.csv"), "--race", RACE)

    inputs = Neo4jRaceSource(driver).race_inputs(RACE)
    e = inputs.entries
    assert len(e) == 36
    assert e["salary"].notna().all() and e["dk_id"].notna().all()
    assert sorted(e["start_position"].astype(int)) == list(range(1, 37))
    assert e["user_proj_points"].notna().all() and e["user_own_pct"].notna().all()
    assert sorted(inputs.contests["contest_id"]) == [GPP, SINGLE]
    assert inputs.race["status"].tolist() == ["scheduled"]
    assert inputs.history["race_key"].nunique() == 14
    names = dict(zip(e["driver_id"].astype(int), e["driver_name"]))
    hist = inputs.history
    for did, (latest, earlier) in RESPELLED.items():
        assert names[did] == latest
        assert set(hist.loc[hist["driver_id"] == did, "driver_name"]) == {latest}
        assert hist.loc[hist["driver_id"] == did, "season"].nunique() == 2
        recs, _, _ = driver.execute_query(
            "MATCH (d:Driver) WHERE d.driver_id = $id RETURN d.name AS name, d.aliases AS a",
            id=did,
        )
        assert len(recs) == 1 and recs[0]["name"] == latest and earlier in recs[0]["a"]
    recs, _, _ = driver.execute_query("MATCH (d:Driver {driver_id: 4092}) RETURN d.aliases AS a")
    assert "John Nemechek" in recs[0]["a"]
