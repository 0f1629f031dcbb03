"""race_backtest's money grading and season_report's money, ownership and error sections, on
hand-made files (no fit, no Dagster run)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.assets.backtest import (
    BACKTEST_MONEY,
    BACKTEST_OWNERSHIP,
    grade_race_money,
    money_table,
    season_error_and_money,
    season_table,
)
from nascar_pipeline.storage.layout import MANIFEST_DIR, StorageLayout

N = 30
RACE = "2026-03-01-short-track-400"


def _snapshot() -> pd.DataFrame:
    """A race's entries (30 drivers, real-looking salaries, grid) and three earlier races."""
    ids = np.arange(1, N + 1)
    entry = pd.DataFrame(
        {
            "role": "entry",
            "race_key": RACE,
            "race_date": "2026-03-01",
            "track_type": "short",
            "laps": 400,
            "scheduled_laps": 400,
            "driver_id": ids,
            "driver_name": [f"Driver {i}" for i in ids],
            "salary": np.linspace(11000, 4500, N).round(-2).astype(int),
            "start_position": ids,
        }
    )
    hist = []
    for r in range(3):
        hist.append(
            pd.DataFrame(
                {
                    "role": "history",
                    "race_key": f"2026-02-0{r + 1}-race",
                    "race_date": f"2026-02-0{r + 1}",
                    "track_type": "short",
                    "laps": 400,
                    "driver_id": ids,
                    "start_position": ids,
                    "finish_position": np.roll(ids, r),
                    "laps_led": np.where(ids == 1, 200, 0),
                    "fastest_laps": np.where(ids == 2, 50, 0),
                }
            )
        )
    return pd.concat([entry, *hist], ignore_index=True)


def test_grade_race_money_scores_our_portfolio_and_both_baselines():
    snap = _snapshot()
    points = {int(d): float(100 - 3 * d) for d in range(1, N + 1)}  # driver 1: 97 ... 30: 10
    portfolio = pd.DataFrame(
        [
            {"lineup_id": 0, "site": "draftkings", **{f"d{j}_driver_id": d for j, d in
                                                       enumerate([1, 25, 26, 27, 28, 29], 1)}},
            {"lineup_id": 1, "site": "draftkings", **{f"d{j}_driver_id": d for j, d in
                                                       enumerate([2, 3, 26, 27, 28, 30], 1)}},
        ]
    )  # fmt: skip
    ours = [97 + 25 + 22 + 19 + 16 + 13, 94 + 91 + 22 + 19 + 16 + 10]  # 192, 252
    contests = pd.DataFrame(
        {
            "contest_id": ["dk-9"],
            "race_key": [RACE],
            "site": ["draftkings"],
            "field_size": [5000],
            "winning_score": [300.0],
            "cash_line": [200.0],
        }
    )
    money = grade_race_money(snap, portfolio, points, {}, contests).set_index("method")
    assert list(money.index) == ["model", "start_position", "trailing_avg_finish"]
    assert money.loc["model", "lineups"] == 2
    assert money.loc["model", "best_points"] == pytest.approx(max(ours))
    assert money.loc["model", "cash_rate"] == pytest.approx(0.5)  # 252 cashes, 192 does not
    assert money.loc["model", "beat_winner"] == 0.0
    assert (money["cash_source"] == "contest").all() and (money["contest_id"] == "dk-9").all()
    # the start-position lineups take the front of the grid, who score most here
    assert money.loc["start_position", "best_points"] >= max(ours)
    # no contest facts and no real %Drafted: nothing graded; with %Drafted: simulated, labelled
    assert grade_race_money(snap, portfolio, points, {}, None).empty
    own = {d: 600.0 / N for d in range(1, N + 1)}
    sim = grade_race_money(snap, portfolio, points, own, None)
    assert (sim["cash_source"] == "simulated from real %Drafted").all()


def _write_race(layout: StorageLayout, key: str, track: str, err: float, money: dict) -> None:
    (layout.root / MANIFEST_DIR / key).mkdir(parents=True, exist_ok=True)
    d = pd.DataFrame(
        {
            "log_lik": [-3.0] * 4,
            "crps": [5.0] * 4,
            "in_50": [True, False, True, False],
            "in_80": [True] * 4,
            "own_error": [2.0, -4.0, np.nan, 0.0],
            "proj_mean": [30.0, 20, 10, 40],
            "actual_points": [30.0 + err, 20 - err, 10 + err, 40 - err],
            "proj_sd": [3.0] * 4,
            "track_type": track,
        }
    )
    layout.write_parquet(layout.asset_path("race_backtest", key), d)
    rows = [
        {"method": m, "cash_line": 200.0, "winning_score": 300.0, "cash_source": "contest", **v}
        for m, v in money.items()
    ]
    layout.write_parquet(
        layout.extra_path("race_backtest", key, BACKTEST_MONEY), pd.DataFrame(rows)
    )
    own = pd.DataFrame([{"own_mae_defaults": 5.0, "own_mae_salary_only": 9.0}])
    layout.write_parquet(layout.extra_path("race_backtest", key, BACKTEST_OWNERSHIP), own)


def test_season_report_sections_money_per_track_type_and_pooled_error(tmp_path):
    layout = StorageLayout(tmp_path)
    good = {"best_points": 250.0, "cash_rate": 0.4, "beat_winner": 0.0}
    bad = {"best_points": 150.0, "cash_rate": 0.0, "beat_winner": 0.0}
    _write_race(
        layout, "2025-04-01-short-race", "short", 4.0, {"model": good, "start_position": bad}
    )
    _write_race(
        layout, "2025-05-01-big-race", "superspeedway", 8.0, {"model": bad, "start_position": good}
    )
    t = season_table(layout)
    assert list(t["rmse_dk"]) == pytest.approx([4.0, 8.0])
    assert list(t["ownership_mae"]) == pytest.approx([2.0, 2.0])
    assert list(t["ownership_mae_salary_only"]) == [9.0, 9.0]
    m = money_table(t).set_index(["track_type", "method"])
    assert m.loc[("all", "model"), "races"] == 2
    assert m.loc[("all", "model"), "best_cashed"] == pytest.approx(0.5)
    assert m.loc[("short", "model"), "best_cashed"] == 1.0
    assert m.loc[("superspeedway", "start_position"), "cash_rate"] == pytest.approx(0.4)
    assert m.loc[("all", "model"), "real_contests"] == 2
    meta = season_error_and_money(t)
    assert meta["rmse_dk"] == pytest.approx(np.sqrt((16 + 64) / 2))
    assert meta["scenario_sd"] == pytest.approx(3.0)
    assert meta["excess_error_sd"] == pytest.approx(np.sqrt(40 - 9))
    assert meta["money_races"] == 2 and meta["ownership_races"] == 2
    assert meta["ownership_mae_defaults"] == 5.0


def _lineup(i, drivers, contest):
    return {
        "lineup_id": i,
        "site": "draftkings",
        "contest_id": contest,
        **{f"d{j}_driver_id": d for j, d in enumerate(drivers, 1)},
    }


def test_each_lineup_is_graded_against_its_own_contest():
    from nascar_pipeline.core.money_grading import MIXED, by_method

    snap = _snapshot()
    points = {int(d): float(100 - 3 * d) for d in range(1, N + 1)}
    portfolio = pd.DataFrame(
        [
            _lineup(0, [1, 25, 26, 27, 28, 29], "dk-9"),  # 192 points
            _lineup(1, [2, 3, 26, 27, 28, 30], "dk-7"),  # 252
            _lineup(2, [2, 3, 26, 27, 28, 29], "dk-5"),  # 255: dk-5 has no real facts
        ]
    )
    contests = pd.DataFrame(
        {
            "contest_id": ["dk-9", "dk-7", "dk-5"],
            "site": "draftkings",
            "field_size": [5000, 800, 300],
            "winning_score": [300.0, 250.0, np.nan],
            "cash_line": [190.0, 260.0, np.nan],
        }
    )
    own = {d: 600.0 / N for d in range(1, N + 1)}
    money = grade_race_money(snap, portfolio, points, own, contests)
    ours = money[money["method"] == "model"].set_index("contest_id")
    # dk-9's lineup cashes at its 190 (it would not at dk-7's 260); dk-7's beats its winner
    assert ours.loc["dk-9", "cash_rate"] == 1.0 and ours.loc["dk-9", "cash_line"] == 190.0
    assert ours.loc["dk-7", "cash_rate"] == 0.0 and ours.loc["dk-7", "beat_winner"] == 1.0
    assert ours.loc["dk-5", "cash_source"] == "simulated from real %Drafted"
    assert ours.loc[["dk-9", "dk-7"], "cash_source"].eq("contest").all()
    # the baselines face the same three contests
    for m in ("start_position", "trailing_avg_finish"):
        assert set(money.loc[money["method"] == m, "contest_id"]) == {"dk-9", "dk-7", "dk-5"}
    agg = by_method(money).set_index("method")
    assert agg.loc["model", "lineups"] == 3 and agg.loc["model", "contests"] == 3
    assert agg.loc["model", "best_points"] == 255.0
    assert agg.loc["model", "beat_winner"] == 1.0
    assert agg.loc["model", "cash_source"] == MIXED
    # without real %Drafted the contest without facts is not graded
    money = grade_race_money(snap, portfolio, points, {}, contests)
    assert set(money.loc[money["method"] == "model", "contest_id"]) == {"dk-9", "dk-7"}


def test_user_projections_get_a_plain_optimizer_baseline():
    from nascar_pipeline.core.backtest import build_lineups

    snap = _snapshot()
    entry = snap["role"] == "entry"
    # the player's (vendor's) numbers like the back of the grid, who score least here
    snap.loc[entry, "user_proj_points"] = snap.loc[entry, "driver_id"].astype(float)
    points = {int(d): float(100 - 3 * d) for d in range(1, N + 1)}
    portfolio = pd.DataFrame([_lineup(0, [1, 25, 26, 27, 28, 29], "dk-9")])
    contests = pd.DataFrame(
        {
            "contest_id": ["dk-9"],
            "site": "draftkings",
            "field_size": [5000],
            "winning_score": [300.0],
            "cash_line": [200.0],
        }
    )
    money = grade_race_money(snap, portfolio, points, {}, contests).set_index("method")
    assert "user_projections" in money.index
    sal = snap.loc[entry, "salary"].to_numpy(float)
    want = build_lineups(np.arange(1, N + 1, dtype=float), sal)
    y = np.array([points[d] for d in range(1, N + 1)])
    assert money.loc["user_projections", "best_points"] == pytest.approx(y[want].sum(1).max())
    # a sheet covering under USER_PROJ_COVERAGE of the slate is not graded
    snap.loc[entry & (snap["driver_id"] > 10), "user_proj_points"] = np.nan
    money = grade_race_money(snap, portfolio, points, {}, contests)
    assert "user_projections" not in set(money["method"])


def test_portfolio_ranked_in_each_lineups_own_contest():
    from nascar_pipeline.assets.backtest import score_by_contest
    from nascar_pipeline.core.contests import Contest
    from nascar_pipeline.core.slate import dk_salary_slate

    snap = _snapshot()
    slate = dk_salary_slate(snap)
    points = {int(d): float(100 - 3 * d) for d in range(1, N + 1)}
    own = {d: 600.0 / N for d in range(1, N + 1)}
    portfolio = pd.DataFrame(
        [
            _lineup(0, [1, 25, 26, 27, 28, 29], "dk-small"),
            _lineup(1, [2, 3, 26, 27, 28, 30], "dk-big"),
            _lineup(2, [2, 3, 26, 27, 28, 29], "dk-big"),
        ]
    )
    contests = [
        Contest("dk-big", field_size=900, entry_fee=3.0),
        Contest("dk-small", field_size=120, entry_fee=25.0),
    ]
    lines, fields = score_by_contest(portfolio, points, own, slate, contests)
    assert fields["dk-big"][0] == 900 and fields["dk-small"][0] == 120
    by = lines.set_index("lineup_id")
    assert by.loc[0, "contest_id"] == "dk-small" and by.loc[0, "entries"] == 121
    assert by.loc[1, "entries"] == 902 and by.loc[1, "entry_fee"] == 3.0
    assert by.loc[0, "entry_fee"] == 25.0
    # a portfolio from before contest ids plays the race's first contest, as before
    lines, fields = score_by_contest(
        portfolio.drop(columns="contest_id"), points, own, slate, contests
    )
    assert set(lines["contest_id"]) == {"dk-big"} and (lines["entries"] == 903).all()


def test_baselines_graded_against_the_real_contest_when_no_lineup_is_gradable():
    snap = _snapshot()
    points = {int(d): float(100 - 3 * d) for d in range(1, N + 1)}
    # our only lineup is in dk-5: no real facts and no real %Drafted, so it is not graded
    portfolio = pd.DataFrame([_lineup(0, [2, 3, 26, 27, 28, 29], "dk-5")])
    contests = pd.DataFrame(
        {
            "contest_id": ["dk-9", "dk-5"],
            "site": "draftkings",
            "field_size": [5000, 300],
            "winning_score": [300.0, np.nan],
            "cash_line": [190.0, np.nan],
        }
    )
    money = grade_race_money(snap, portfolio, points, {}, contests)
    assert "model" not in set(money["method"])
    for m in ("start_position", "trailing_avg_finish"):
        rows = money[money["method"] == m]
        assert list(rows["contest_id"]) == ["dk-9"]
        assert rows["cash_line"].iloc[0] == 190.0 and rows["cash_source"].iloc[0] == "contest"


def _payouts(paid: int, prize: float) -> str:
    import json

    return json.dumps([{"min_place": 1, "max_place": paid, "prize": prize}])


def test_a_double_up_without_facts_is_graded_at_its_own_paid_share_and_size():
    from nascar_pipeline.core.backtest import paid_share, simulated_contest_facts
    from nascar_pipeline.core.slate import dk_salary_slate

    snap = _snapshot()
    points = {int(d): float(100 - 3 * d) for d in range(1, N + 1)}
    own = {d: 600.0 / N for d in range(1, N + 1)}
    portfolio = pd.DataFrame(
        [
            _lineup(0, [2, 3, 26, 27, 28, 29], "dk-du"),
            _lineup(1, [2, 3, 26, 27, 28, 30], "dk-gpp"),
        ]
    )
    contests = pd.DataFrame(
        {
            "contest_id": ["dk-du", "dk-gpp"],
            "site": "draftkings",
            "entry_fee": [5.0, 20.0],
            "field_size": [100, 4000],
            "payouts": [_payouts(45, 9.0), _payouts(800, 40.0)],
            "winning_score": [np.nan, np.nan],
            "cash_line": [np.nan, np.nan],
        }
    )
    assert paid_share(contests.iloc[0].to_dict()) == pytest.approx(0.45)
    assert paid_share(contests.iloc[1].to_dict()) == pytest.approx(0.2)
    money = grade_race_money(snap, portfolio, points, own, contests)
    ours = money[money["method"] == "model"].set_index("contest_id")
    assert (ours["cash_source"] == "simulated from real %Drafted").all()
    slate = dk_salary_slate(snap)
    sal = slate["salary"].to_numpy(float)
    y = np.array([points[int(d)] for d in slate["driver_id"]])
    o = np.array([own[int(d)] for d in slate["driver_id"]])
    du = simulated_contest_facts(o, sal, y, field_size=100, paid=0.45)
    gpp = simulated_contest_facts(o, sal, y, field_size=4000, paid=0.2)
    # the double-up's cash line is its field's 55th percentile, the best of 100 its winner;
    # not the GPP's 80th percentile and best of thousands
    assert ours.loc["dk-du", "cash_line"] == pytest.approx(du["cash_line"])
    assert ours.loc["dk-du", "winning_score"] == pytest.approx(du["winning_score"])
    assert ours.loc["dk-gpp", "cash_line"] == pytest.approx(gpp["cash_line"])
    assert du["cash_line"] < gpp["cash_line"]
    assert "best of 100 " in ours.loc["dk-du", "cash_note"]
    assert "45.0%" in ours.loc["dk-du", "cash_note"]
    # a field larger than the simulated cap is capped, and the note says so
    big = simulated_contest_facts(o, sal, y, field_size=150_000, paid=0.2)
    assert "capped" in big["note"] and big["source"] == "simulated from real %Drafted"


def test_default_and_unknown_lineups_play_the_real_contest_then_the_largest_field():
    from nascar_pipeline.assets.backtest import score_by_contest
    from nascar_pipeline.core.contests import Contest
    from nascar_pipeline.core.money_grading import stand_in_contest_id
    from nascar_pipeline.core.slate import dk_salary_slate

    snap = _snapshot()
    slate = dk_salary_slate(snap)
    points = {int(d): float(100 - 3 * d) for d in range(1, N + 1)}
    own = {d: 600.0 / N for d in range(1, N + 1)}
    portfolio = pd.DataFrame(
        [
            _lineup(0, [1, 25, 26, 27, 28, 29], "default"),
            _lineup(1, [2, 3, 26, 27, 28, 30], "dk-unknown"),
        ]
    )
    # dk-0 sorts first, dk-2 has the largest field, dk-1 alone has real facts
    contests = pd.DataFrame(
        {
            "contest_id": ["dk-0", "dk-1", "dk-2"],
            "site": "draftkings",
            "field_size": [50, 300, 5000],
            "winning_score": [np.nan, 300.0, np.nan],
            "cash_line": [np.nan, 200.0, np.nan],
        }
    )
    listed = [
        Contest("dk-0", field_size=50, entry_fee=1.0),
        Contest("dk-1", field_size=300, entry_fee=5.0),
        Contest("dk-2", field_size=5000, entry_fee=20.0),
    ]
    assert stand_in_contest_id(contests) == "dk-1"
    money = grade_race_money(snap, portfolio, points, own, contests)
    assert set(money["contest_id"]) == {"dk-1"}
    assert money.set_index("method").loc["model", "lineups"] == 2
    lines, fields = score_by_contest(portfolio, points, own, slate, listed, contests)
    assert set(lines["contest_id"]) == {"dk-1"} and (lines["entry_fee"] == 5.0).all()
    assert fields["dk-1"][0] == 300
    # no real facts anywhere: the largest field, in both
    no_facts = contests.assign(winning_score=np.nan, cash_line=np.nan)
    assert stand_in_contest_id(no_facts) == "dk-2"
    money = grade_race_money(snap, portfolio, points, own, no_facts)
    assert set(money["contest_id"]) == {"dk-2"}
    assert "best of 5,000 " in money["cash_note"].iloc[0]
    lines, _ = score_by_contest(portfolio, points, own, slate, listed, no_facts)
    assert set(lines["contest_id"]) == {"dk-2"} and (lines["entry_fee"] == 20.0).all()
    # without the race's contests frame, the snapshot's largest field
    lines, _ = score_by_contest(portfolio, points, own, slate, listed)
    assert set(lines["contest_id"]) == {"dk-2"}


def test_baselines_laps_are_the_models_scheduled_then_the_tracks_median():
    from nascar_pipeline.assets.backtest import _race_laps

    snap = _snapshot()
    hist = snap[snap["role"] == "history"].assign(track_name="Short Track")
    hist.loc[hist["race_key"] == "2026-02-01-race", "laps"] = 300  # median of 300, 400, 400
    race = snap.iloc[0].copy()
    race["track_name"] = "Short Track"
    assert _race_laps(race, hist) == 400  # scheduled
    race["scheduled_laps"], race["laps"] = pd.NA, 410
    assert _race_laps(race, hist) == 410  # laps run: what the model's scenarios used
    race["laps"] = pd.NA
    assert _race_laps(race, hist) == 400  # the simulator's fallback, not 0
    assert _race_laps(race, hist.iloc[:0]) == 0.0  # nothing to go on: no dominator term
