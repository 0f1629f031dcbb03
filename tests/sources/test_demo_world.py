"""The embedded demo world: determinism, validity, realism against the real history, and the
source that serves it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core.rules import DRAFTKINGS
from nascar_pipeline.core.slugs import is_valid_race_key
from nascar_pipeline.core.snapshot import build_snapshot
from nascar_pipeline.core.tables import TABLE_COLUMNS, TRACK_TYPES
from nascar_pipeline.errors import UserInputError
from nascar_pipeline.sources.demo_world import generate_world, world_statistics
from nascar_pipeline.sources.embedded import EmbeddedWorldSource, load_world, write_world

# Realism tolerances (world vs real history 2019-2025, absolute differences). The world is one
# draw of 108 races, so each tolerance allows for its sampling noise (several standard errors:
# e.g. the top-leader share has sd ~0.09-0.17 per race over ~20-40 races of a type) plus a
# little model misfit.
TOL_CARS_PER_RACE = 1.5  # cars a race (real 37.9)
TOL_DNF_RATE = 0.05  # DNF rate per track type (real 25/12/10/10 %; se ~0.01-0.02)
TOL_TOP_LEADER_SHARE = 0.10  # share of laps led by the race's top leader, per track type
TOL_TOP_LEADER_SHARE_ROAD = 0.13  # road: only 15 races in the world (se ~0.04)
TOL_FASTEST_PER_LAP = 0.06  # fastest laps / laps per race (real ~0.80)
TOL_DK_MEAN = 2.0  # DraftKings points per start: mean (real 27.5)
TOL_DK_SD = 3.0  # sd (real 25.3)
TOL_DK_P90 = 4.0  # 90th percentile (real 58)
TOL_SPEARMAN = 0.10  # start vs finish rank correlation (real 0.43)


@pytest.fixture(scope="module")
def world():
    return generate_world(seed=7)


def _upcoming(world):
    return world.races[world.races["status"] == "scheduled"].iloc[0]


def test_deterministic_for_a_seed(world):
    again = generate_world(seed=7)
    for name in TABLE_COLUMNS:
        pd.testing.assert_frame_equal(getattr(world, name), getattr(again, name))
    other = generate_world(seed=8)
    assert not world.results.equals(other.results)
    assert not world.entries.equals(other.entries)


def test_shape_and_keys(world):
    races = world.races
    assert list(races.columns) == list(TABLE_COLUMNS["races"])
    final = races[races["status"] == "final"]
    assert len(final) == 3 * 36 and final["season"].nunique() == 3
    assert (races["status"] == "scheduled").sum() == 1
    assert races["race_key"].is_unique and races["race_key"].map(is_valid_race_key).all()
    assert races["race_id"].is_unique
    assert set(races["track_type"]) == set(TRACK_TYPES)
    assert final["laps"].notna().all() and (final["laps"] > 0).all()
    dates = pd.to_datetime(races["race_date"])
    assert (dates.dt.dayofweek == 6).all()  # Sundays
    assert dates.is_monotonic_increasing
    counts = final.groupby("season")["track_type"].value_counts().unstack()
    assert (counts["intermediate"] > counts["short"]).all()
    assert (counts["short"] > counts["superspeedway"]).all()
    assert (counts["superspeedway"] > counts["road"]).all()
    assert world.drivers["driver_id"].is_unique and len(world.drivers) >= 40


def test_results_are_valid(world):
    res = world.results.merge(world.races[["race_key", "laps", "track_type"]], on="race_key")
    res = res.merge(
        world.entries[["race_key", "driver_id", "start_position"]],
        on=["race_key", "driver_id"],
        how="left",
    )
    assert res["start_position"].notna().all()
    for key, g in res.groupby("race_key"):
        n = len(g)
        assert 33 <= n <= 40, key
        assert sorted(g["finish_position"]) == list(range(1, n + 1)), key
        assert sorted(g["start_position"]) == list(range(1, n + 1)), key
        laps = int(g["laps"].iloc[0])
        assert int(g["laps_led"].sum()) == laps, key
        assert 0.5 <= g["fastest_laps"].sum() / laps <= 0.95, key
        assert (g["laps_led"] <= g["laps_completed"]).all(), key
        assert (g["fastest_laps"] <= g["laps_completed"]).all(), key
        assert (g["laps_completed"] <= laps).all(), key
        winner = g[g["finish_position"] == 1].iloc[0]
        assert winner["status"] == "running" and winner["laps_completed"] == laps
        assert winner["laps_led"] >= 1
        dnf = g["status"] != "running"
        if dnf.any() and (~dnf).any():
            assert g.loc[dnf, "finish_position"].min() > g.loc[~dnf, "finish_position"].max()
            assert (g.loc[dnf, "laps_completed"] < laps).all()
        # Running order: laps completed never increase down the order.
        lc = g.sort_values("finish_position")["laps_completed"].to_numpy()
        assert (np.diff(lc) <= 0).all(), key
    assert set(res.loc[res["status"] != "running", "status"]) >= {"accident", "engine"}


def test_fastest_laps_about_four_fifths_of_laps(world):
    res = world.results.merge(world.races[["race_key", "laps"]], on="race_key")
    g = res.groupby("race_key")
    share = (g["fastest_laps"].sum() / g["laps"].first()).astype(float)
    assert 0.72 <= share.mean() <= 0.85


def test_upcoming_race_slate(world):
    up = _upcoming(world)
    key = up["race_key"]
    assert pd.isna(up["laps"]) and up["scheduled_laps"] > 0
    assert up["race_date"] > world.races.loc[world.races["status"] == "final", "race_date"].max()
    lock = pd.Timestamp(up["lock_time"])
    assert lock.tzinfo is not None and lock.utcoffset().total_seconds() == 0
    assert lock.date().isoformat() == up["race_date"]
    assert not (world.results["race_key"] == key).any()
    e = world.entries[world.entries["race_key"] == key]
    assert 34 <= len(e) <= 40
    assert e["salary"].notna().all() and e["dk_id"].notna().all() and e["dk_id"].is_unique
    assert sorted(e["start_position"]) == list(range(1, len(e) + 1))
    sal = e["salary"].astype(int)
    assert (sal % 100 == 0).all()
    assert sal.min() >= 4500 and sal.max() <= 11_500 and sal.max() >= 10_500
    # A real trade-off: the six dearest drivers do not fit under the cap, the six cheapest do.
    top6 = sal.sort_values(ascending=False).head(DRAFTKINGS.roster_size).sum()
    bottom6 = sal.sort_values().head(DRAFTKINGS.roster_size).sum()
    assert top6 > DRAFTKINGS.salary_cap > bottom6
    c = world.contests[world.contests["race_key"] == key]
    assert len(c) == 1
    c = c.iloc[0]
    assert c["site"] == "draftkings" and c["max_entries"] == 150 and c["entry_fee"] > 0
    payouts = json.loads(c["payouts"])
    paid = 0
    total = 0.0
    last_place, last_prize = 0, float("inf")
    for band in payouts:
        assert band["min_place"] == last_place + 1 and band["max_place"] >= band["min_place"]
        assert 0 < band["prize"] <= last_prize
        n = band["max_place"] - band["min_place"] + 1
        paid += n
        total += n * band["prize"]
        last_place, last_prize = band["max_place"], band["prize"]
    assert 0.20 <= paid / c["field_size"] <= 0.25
    assert 0.82 <= total / (c["field_size"] * c["entry_fee"]) <= 0.86


def test_salaries_follow_strength(world):
    """Dearer drivers finished better in the world's history."""
    up = _upcoming(world)
    e = world.entries[world.entries["race_key"] == up["race_key"]]
    avg_finish = world.results.groupby("driver_id")["finish_position"].mean()
    joined = (
        e.set_index("driver_id")["salary"]
        .astype(float)
        .to_frame()
        .join(avg_finish.astype(float))
        .dropna()
    )
    assert joined.corr(method="spearman").iloc[0, 1] < -0.5


def test_past_races_have_slates_for_backtests(world):
    """Every run race has its DraftKings slate, GPP and the field's actual ownership."""
    past = world.races.loc[world.races["status"] == "final", "race_key"]
    e = world.entries[world.entries["race_key"].isin(past)]
    assert e["salary"].notna().all() and e["dk_id"].notna().all()
    assert world.entries["dk_id"].is_unique
    own = e.groupby("race_key")["dk_own_pct"].sum().astype(float)
    assert np.allclose(own, 600.0, atol=0.5)  # six roster slots
    assert e["dk_own_pct"].astype(float).between(0, 100).all()
    assert set(world.contests["race_key"]) == set(world.races["race_key"])
    up = _upcoming(world)
    assert world.entries.loc[world.entries["race_key"] == up["race_key"], "dk_own_pct"].isna().all()


def test_no_upcoming_when_asked():
    w = generate_world(seed=3, seasons=1, upcoming=False)
    assert (w.races["status"] == "final").all() and len(w.races) == 36
    assert len(w.results) == len(w.entries)


def test_generation_is_fast():
    import time

    t0 = time.perf_counter()
    generate_world(seed=11)
    assert time.perf_counter() - t0 < 5.0


def test_statistics_match_real_history(world, shared_data):
    from nascar_pipeline.commands.seed_demo import read_history

    real = world_statistics(*read_history(shared_data / "history"))
    sim = world_statistics(world.races, world.results, world.entries)

    def close(name, tol):
        assert abs(sim[name] - real[name]) <= tol, (
            f"{name}: world {sim[name]:.3f} vs real {real[name]:.3f} (tolerance {tol})"
        )

    close("cars_per_race", TOL_CARS_PER_RACE)
    for t in TRACK_TYPES:
        close(f"dnf_rate_{t}", TOL_DNF_RATE)
        close(
            f"top_leader_share_{t}",
            TOL_TOP_LEADER_SHARE_ROAD if t == "road" else TOL_TOP_LEADER_SHARE,
        )
    close("fastest_laps_per_lap", TOL_FASTEST_PER_LAP)
    close("dk_points_mean", TOL_DK_MEAN)
    close("dk_points_sd", TOL_DK_SD)
    close("dk_points_p90", TOL_DK_P90)
    close("start_finish_spearman", TOL_SPEARMAN)
    # Superspeedways are the lottery: their top leader leads much less than elsewhere.
    assert sim["top_leader_share_superspeedway"] + 0.05 < sim["top_leader_share_intermediate"]


# --------------------------------------------------------------------------- embedded source


@pytest.fixture(scope="module")
def world_dir(world, tmp_path_factory):
    folder = tmp_path_factory.mktemp("world")
    write_world(world, folder)
    return folder


def test_write_and_load_roundtrip(world, world_dir):
    loaded = load_world(world_dir)
    for name in TABLE_COLUMNS:
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(world, name))
    assert not list(world_dir.glob("*.tmp"))


def test_missing_world_says_how_to_seed(tmp_path):
    with pytest.raises(UserInputError, match="seed-demo"):
        load_world(tmp_path / "nowhere")
    with pytest.raises(UserInputError, match="seed-demo"):
        EmbeddedWorldSource(tmp_path).list_races()


def test_source_serves_races_and_snapshot(world, world_dir):
    src = EmbeddedWorldSource(world_dir)
    races = src.list_races()
    assert len(races) == len(world.races)
    assert {"content_hash", "has_results"} <= set(races.columns)
    up = races[races["status"] == "scheduled"]
    assert len(up) == 1 and not bool(up["has_results"].iloc[0])
    assert races.loc[races["status"] == "final", "has_results"].all()
    key = up["race_key"].iloc[0]
    inputs = src.race_inputs(key)
    snap = build_snapshot(inputs)
    entries = snap[snap["role"] == "entry"]
    history = snap[snap["role"] == "history"]
    assert len(entries) == len(world.entries[world.entries["race_key"] == key])
    assert entries["salary"].notna().all() and entries["driver_name"].notna().all()
    assert entries["contest_payouts"].notna().all()
    assert entries["finish_position"].isna().all()
    assert len(history) == len(world.results)
    assert (history["race_date"] < up["race_date"].iloc[0]).all()
    # A past race: its history is only what came before it.
    first = races.iloc[0]["race_key"]
    assert src.race_inputs(first).history.empty
    src.close()


def test_seed_demo_command(tmp_path, capsys):
    from nascar_pipeline.cli import main

    out = tmp_path / "w"
    assert main(["seed-demo", "--seed", "5", "--seasons", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert str(out.resolve()) in text and "36 run" in text and "upcoming race: 2027-" in text
    assert len(EmbeddedWorldSource(out).list_races()) == 37
