"""Backtest metrics and baselines (pure; fast)."""

import itertools

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core import backtest as bt


def test_pl_loglik_is_a_distribution_over_orders():
    u = np.array([0.3, -1.0, 1.2, 0.0])
    total = sum(
        np.exp(bt.pl_loglik(u, np.argsort(p) + 1)) for p in itertools.permutations(range(4))
    )
    assert total == pytest.approx(1.0)
    # Uniform utilities: every order has probability 1 / D!.
    assert bt.pl_loglik(np.zeros(5), np.array([3, 1, 2, 5, 4])) == pytest.approx(
        -bt.log_factorial(5)
    )


def test_mixture_loglik_and_brier():
    fin = np.array([1, 2, 3])
    same = np.tile(np.array([2.0, 1.0, 0.0]), (50, 1))
    assert bt.mixture_order_loglik(same, fin) == pytest.approx(bt.pl_loglik(same[0], fin))
    samples = np.array([[1, 11, 2], [12, 1, 2]])
    # P(top10) = (0.5, 0.5, 1.0) vs actual (1, 0, 1): ((0.5)^2 + 0.5^2 + 0) / 3.
    assert bt.brier_top10(samples, np.array([3, 12, 4])) == pytest.approx(0.5 / 3)


def test_crps_and_coverage():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, 1))
    # CRPS of N(0, 1) at 0 is (sqrt(2) - 1) / sqrt(pi) = 0.2337.
    assert bt.crps_samples(x, np.array([0.0]))[0] == pytest.approx(0.2337, abs=0.01)
    # Point mass: CRPS = |x - y|.
    assert bt.crps_samples(np.full((10, 1), 3.0), np.array([1.0]))[0] == pytest.approx(2.0)
    y = rng.normal(size=(1, 4000))
    xs = rng.normal(size=(4000, 4000)).astype(np.float32)
    assert bt.coverage(xs, y[0], 0.9).mean() == pytest.approx(0.9, abs=0.02)


def test_an_outcome_on_an_interval_end_is_inside_it_in_float32_samples():
    # 41.35 (fastest laps at 0.45) is 41.349998 in float32: still the interval's end
    x = np.repeat(np.array([20.0, 30.45, 41.35, 53.15], np.float32), 250)[:, None]
    for y in (41.35, 30.45):
        assert bt.coverage(x, np.array([y]), 0.5)[0]
        assert bt.pit_coverage(x, np.array([y]), 0.5)[0] > 0.4


def test_summarize_pools_coverage():
    per_race = pd.DataFrame(
        [
            {
                "method": "model",
                "drivers": 10,
                "order_loglik": -50.0,
                "brier_top10": 0.1,
                "crps_dk": 9.0,
                "cover50": 0.4,
                "cover90": 0.9,
            },
            {
                "method": "model",
                "drivers": 30,
                "order_loglik": -70.0,
                "brier_top10": 0.2,
                "crps_dk": 11.0,
                "cover50": 0.6,
                "cover90": 0.8,
            },
            {
                "method": "uniform",
                "drivers": 10,
                "order_loglik": -60.0,
                "brier_top10": 0.3,
                "crps_dk": 12.0,
                "cover50": 0.5,
                "cover90": 0.9,
            },
        ]
    )
    t = bt.summarize(per_race).set_index("method")
    assert t.loc["model", "order_loglik_per_race"] == -60.0
    assert t.loc["model", "cover50_pct"] == pytest.approx(55.0)
    assert list(t.index) == ["model", "uniform"]


# ---------------------------------------------------------------- money, ownership, error
def _money_race():
    """Eight drivers at $8,000 (any six fit the $50K cap); projections rank them 0..7, the actual
    points are chosen so that each of the five best-projected lineups scores a known total."""
    salaries = np.full(8, 8000.0)
    projection = np.array([256.0, 128, 64, 32, 16, 8, 4, 2])  # distinct sums: no ties
    actual = np.array([10.0, 20, 30, 40, 50, 5, 60, 70])
    return salaries, projection, actual


def test_money_grading_scores_the_best_projected_lineups_with_the_real_points():
    from nascar_pipeline.core.race_scoring import grade_lineups

    salaries, projection, actual = _money_race()
    # the five best lineups by projection, listed independently of the optimizer
    combos = sorted(itertools.combinations(range(8), 6), key=lambda c: -projection[list(c)].sum())[
        :5
    ]
    expected = sorted(actual[list(c)].sum() for c in combos)  # 155, 165, 175, 210, 220
    lineups = bt.build_lineups(projection, salaries)
    assert sorted(actual[lineups].sum(axis=1)) == pytest.approx(expected)
    facts = {"cash_line": 175.0, "winning_score": 220.0, "source": bt.CASH_REAL}
    rows = {r["method"]: r for r in bt.grade_money(salaries, {"ours": projection}, actual, facts)}
    ours = rows["ours"]
    assert ours["lineups"] == 5 and ours["best_points"] == pytest.approx(220.0)
    assert ours["cash_rate"] == pytest.approx(3 / 5)  # 175 (a tie cashes), 210, 220
    assert ours["beat_winner"] == 1.0 and ours["best_minus_winner"] == pytest.approx(0.0)
    assert ours["cash_source"] == "contest"
    # given lineups are scored as they are, not rebuilt
    given = {"ours": np.array([[0, 1, 2, 3, 4, 5]])}
    (r,) = bt.grade_money(salaries, {"ours": projection}, actual, facts, lineups=given)
    assert r["best_points"] == pytest.approx(155.0) and r["cash_rate"] == 0.0
    assert r["beat_winner"] == 0.0
    # unknown facts: no rates, not zeros
    g = grade_lineups([100.0, 200.0], None, None)
    assert np.isnan(g["cash_rate"]) and np.isnan(g["beat_winner"]) and g["best_points"] == 200.0


def test_contest_facts_pick_the_largest_draftkings_contest_with_facts():
    contests = pd.DataFrame(
        {
            "contest_id": ["fd-1", "dk-small", "dk-big", "dk-none"],
            "race_key": "r",
            "site": ["fanduel", "draftkings", "draftkings", "draftkings"],
            "field_size": [90000, 100, 5000, 90000],
            "winning_score": [400.0, 300.0, 320.0, np.nan],
            "cash_line": [200.0, 180.0, 190.0, np.nan],
        }
    )
    f = bt.contest_facts(contests)
    assert (f["contest_id"], f["cash_line"], f["winning_score"]) == ("dk-big", 190.0, 320.0)
    assert bt.contest_facts(contests.iloc[[0, 3]]) is None


def _real_size_race(n: int = 30):
    """A slate of a real race's size (salaries $11,000 down to $4,500), actual points, %Drafted."""
    salaries = np.linspace(11000, 4500, n).round(-2)
    actual = np.linspace(70, 0, n)
    own = np.linspace(40, 2, n)
    return salaries, actual, own * 600 / own.sum()


def test_simulated_contest_facts_are_labelled_and_ordered():
    salaries, actual, own = _real_size_race()
    f = bt.simulated_contest_facts(own, salaries, actual, seed=3)
    assert f["source"] == bt.CASH_SIMULATED and "simulated" in f["source"]
    assert f["contest_id"] is None
    # every field lineup is six of the drivers: between the worst and the best six
    assert sum(sorted(actual)[:6]) <= f["cash_line"] <= f["winning_score"]
    assert f["winning_score"] <= sum(sorted(actual)[-6:])


def test_ownership_mae_on_hand_made_numbers():
    from nascar_pipeline.core.ownership_fit import ownership_mae

    n = 30  # a real slate's size: the tier bounds must hold 600 %
    slate = pd.DataFrame(
        {
            "driver_id": range(n),
            "driver_name": [f"Driver {i}" for i in range(n)],
            "salary": np.linspace(11000, 4500, n).round(-2),
            "projection": np.linspace(60, 8, n),
            "start_position": np.arange(1.0, n + 1),
        }
    )
    actual = np.r_[[60.0, 40, np.nan, 30, 20, 10, 5, 5], np.full(n - 8, 2.0)]
    # errors 10, 5, (unknown), 0, 2, 0, 0, 0, then 1 on each of the other 22
    ours = np.r_[[50.0, 45, 99, 30, 22, 10, 5, 5], np.full(n - 8, 3.0)]
    e = bt.ownership_errors(slate, actual, ours)
    assert e["own_mae"] == pytest.approx((17 + 22) / 29) and e["own_drivers"] == 29
    assert e["own_mae_defaults"] >= 0 and np.isfinite(e["own_mae_salary_only"])
    # the defaults' and salary-only numbers are the same MAE of their own projections
    from nascar_pipeline.core.ownership_model import DEFAULT_FIELD_MODEL, project_field_ownership

    own = project_field_ownership(slate, DEFAULT_FIELD_MODEL).frame["own_pct"].to_numpy()
    assert e["own_mae_defaults"] == pytest.approx(ownership_mae(own, actual))
    assert e["own_mae_salary_only"] != pytest.approx(e["own_mae_defaults"])


def test_projection_error_nets_out_the_scenario_spread():
    samples = np.array([[0.0, 10.0], [2.0, 10.0]])  # means 1 and 10, variances 1 and 0
    e = bt.projection_error(samples, np.array([3.0, 10.0]))  # squared errors 4 and 0
    assert e["rmse_dk"] == pytest.approx(np.sqrt(2.0))
    assert e["scenario_sd"] == pytest.approx(np.sqrt(0.5))
    assert e["excess_error_sd"] == pytest.approx(np.sqrt(1.5))
    wide = bt.projection_error(np.array([[-20.0, 10.0], [20.0, 10.0]]), np.array([3.0, 10.0]))
    assert wide["excess_error_sd"] == 0.0  # the scenarios already spread wider than the misses


def test_race_money_and_ownership_grade_each_method_and_summarize():
    salaries, projection, actual = _money_race()
    g = pd.DataFrame(
        {
            "race_key": "r1",
            "driver_id": np.arange(8),
            "driver_name": [f"Driver {i}" for i in range(8)],
            "salary": salaries.astype(int),
            "start_position": np.arange(1, 9),
            "dk_own_pct": [60.0, 50, 40, 30, 20, 10, 5, 5],
        }
    )
    means = {m: projection for m in bt.METHODS}
    contests = pd.DataFrame(
        {
            "contest_id": ["dk-1"],
            "race_key": ["r1"],
            "site": ["draftkings"],
            "field_size": [1000],
            "winning_score": [220.0],
            "cash_line": [175.0],
        }
    )
    out = bt.race_money_and_ownership(g, actual, means, contests)
    # the model with and without loop data and the money baselines (not uniform, not feature PL)
    assert set(out) == {"model", "model_loop", "start_position", "trailing_avg_finish"}
    assert "own_mae_defaults" not in out["model_loop"]  # ownership: the first model only
    assert out["model"]["money_cash_rate"] == pytest.approx(3 / 5)
    assert out["model"]["money_cash_source"] == "contest"
    assert "own_mae_defaults" in out["model"]  # (NaN: eight drivers cannot hold 600 %)
    # no contest facts: a field from the real %Drafted stands in, labelled
    sal30, act30, own30 = _real_size_race()
    g30 = pd.DataFrame(
        {
            "race_key": "r1",
            "driver_id": np.arange(30),
            "driver_name": [f"Driver {i}" for i in range(30)],
            "salary": sal30.astype(int),
            "start_position": np.arange(1, 31),
            "dk_own_pct": own30,
        }
    )
    sim = bt.race_money_and_ownership(g30, act30, {m: act30 for m in bt.METHODS}, None)
    assert sim["start_position"]["money_cash_source"] == bt.CASH_SIMULATED
    assert np.isfinite(sim["model"]["own_mae_salary_only"])
    # no salaries: nothing graded
    assert bt.race_money_and_ownership(g.assign(salary=pd.NA), actual, means, contests) == {}

    rows = []
    for race, rmse in (("r1", 3.0), ("r2", 4.0)):
        for m in bt.METHODS:
            rows.append(
                {
                    "method": m,
                    "race_key": race,
                    "drivers": 8 if race == "r1" else 24,
                    "order_loglik": -10.0,
                    "brier_top10": 0.1,
                    "crps_dk": 5.0,
                    "cover50": 0.5,
                    "cover90": 0.9,
                    "rmse_dk": rmse,
                    "scenario_sd": 2.0,
                    "excess_error_sd": 0.0,
                    **(out.get(m, {}) if race == "r1" else {}),
                }
            )
    table = bt.summarize(pd.DataFrame(rows)).set_index("method")
    pooled = np.sqrt((8 * 9 + 24 * 16) / 32)
    assert table.loc["model", "rmse_dk"] == pytest.approx(pooled)
    assert table.loc["model", "excess_error_sd"] == pytest.approx(np.sqrt(pooled**2 - 4))
    assert table.loc["model", "money_races"] == 1
    assert table.loc["model", "money_cash_rate"] == pytest.approx(3 / 5)
    assert np.isnan(table.loc["uniform", "money_races"])


def test_projection_accuracy_by_hand():
    # two identical scenarios: the projected means are the rows themselves
    proj = np.array([30.0, 20.0, 10.0, 5.0])
    samples = np.tile(proj, (2, 1))
    same_order = bt.projection_error(samples, np.array([40.0, 25.0, 9.0, 0.0]))
    assert same_order["mae_dk"] == pytest.approx((10 + 5 + 1 + 5) / 4)
    assert same_order["rank_corr_dk"] == pytest.approx(1.0)
    reversed_order = bt.projection_error(samples, np.array([0.0, 9.0, 25.0, 40.0]))
    assert reversed_order["rank_corr_dk"] == pytest.approx(-1.0)
    assert reversed_order["mae_dk"] == pytest.approx((30 + 11 + 15 + 35) / 4)
    # ties share their mean rank (Spearman): ranks (1.5, 1.5, 3, 4) against (1, 2, 3, 4)
    tied = bt.rank_correlation([1.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])
    assert tied == pytest.approx(np.corrcoef([1.5, 1.5, 3, 4], [1, 2, 3, 4])[0, 1])
    # a flat projection ranks nobody: NaN, no warning
    flat = bt.projection_error(np.full((3, 4), 12.0), np.array([1.0, 2.0, 3.0, 4.0]))
    assert np.isnan(flat["rank_corr_dk"]) and flat["mae_dk"] == pytest.approx(9.5)


def _accuracy_rows():
    rows = []
    for race, tt, mae, corr in (("r1", "road", 20.0, 0.5), ("r2", "short", 10.0, np.nan)):
        for m, shift in (("model", 0.0), ("start_position", 4.0)):
            rows.append(
                {
                    "method": m,
                    "race_key": race,
                    "track_type": tt,
                    "drivers": 10,
                    "order_loglik": -50.0,
                    "brier_top10": 0.1,
                    "crps_dk": 9.0,
                    "cover50": 0.5,
                    "cover90": 0.9,
                    "mae_dk": mae + shift,
                    "rank_corr_dk": corr - shift / 10,
                }
            )
    return pd.DataFrame(rows)


def test_summary_and_track_types_carry_projection_accuracy():
    per_race = _accuracy_rows()
    t = bt.summarize(per_race).set_index("method")
    assert t.loc["model", "mae_dk"] == pytest.approx(15.0)
    assert t.loc["start_position", "mae_dk"] == pytest.approx(19.0)
    # the race without a rank correlation is left out of the mean, not counted as 0
    assert t.loc["model", "rank_corr_dk"] == pytest.approx(0.5)
    assert t.loc["start_position", "rank_corr_dk"] == pytest.approx(0.1)
    by_type = bt.track_type_table(per_race).set_index(["track_type", "method"])
    assert by_type.loc[("all", "model"), "mae_dk"] == pytest.approx(15.0)
    assert by_type.loc[("road", "start_position"), "mae_dk"] == pytest.approx(24.0)
    assert by_type.loc[("road", "model"), "rank_corr_dk"] == pytest.approx(0.5)
    assert np.isnan(by_type.loc[("short", "model"), "rank_corr_dk"])
    # per-race rows of a run scored before these figures existed: no columns in the season
    # table, NaN per track type
    old = per_race.drop(columns=["mae_dk", "rank_corr_dk"])
    assert "mae_dk" not in bt.summarize(old)
    assert bt.track_type_table(old)["mae_dk"].isna().all()


def _exact_dnf_mixture(perf, p, pen, fin) -> float:
    """P(order) = sum over every DNF configuration of Bernoulli(p) * PL(order | perf + pen*d)."""
    total = 0.0
    for d in itertools.product((0, 1), repeat=len(perf)):
        d = np.array(d)
        prior = np.prod(np.where(d == 1, p, 1 - p))
        total += prior * np.exp(bt.pl_loglik(perf + pen * d, fin))
    return float(np.log(total))


def test_dnf_mixture_scoring_matches_the_exact_sum_over_dnf_configurations():
    """Two posterior draws of a 5-car race: the importance-sampled log P(order) is within
    0.03 nats of the exact sum over all 32 DNF configurations (averaged over the draws), and
    far from the folded-utility proxy when the crashed car was the fastest."""
    perf = np.array([[2.0, 1.0, 0.5, 0.0, -0.5], [1.5, 1.2, 0.2, 0.1, -0.2]])
    p = np.array([[0.3, 0.1, 0.2, 0.1, 0.15], [0.25, 0.1, 0.1, 0.2, 0.1]])
    pen = np.array([-3.0, -2.5])
    fin = np.array([5, 1, 2, 3, 4])  # the fastest car crashed and finished last
    observed = np.array([True, False, False, False, False])
    exact = np.log(
        np.mean([np.exp(_exact_dnf_mixture(perf[s], p[s], pen[s], fin)) for s in range(2)])
    )
    util_expected = perf + pen[:, None] * p
    est = bt.order_loglik_dnf_mixture(util_expected, p, pen, fin, observed, seed=1, draws=20_000)
    assert est == pytest.approx(exact, abs=0.03)
    folded = bt.mixture_order_loglik(util_expected, fin)
    assert folded < exact - 1.0  # the proxy ignores that the fast car may crash


def test_dnf_mixture_scoring_without_dnf_risk_is_plackett_luce():
    perf = np.array([[1.0, 0.0, -1.0, 0.3]] * 3)
    fin = np.array([2, 1, 4, 3])
    est = bt.order_loglik_dnf_mixture(
        perf, np.zeros_like(perf), np.full(3, -3.0), fin, np.zeros(4, bool), draws=8
    )
    assert est == pytest.approx(bt.pl_loglik(perf[0], fin), abs=1e-6)


def test_observed_dnf_reads_the_status():
    g = pd.DataFrame({"status": ["running", "Accident", None, "engine"]})
    assert bt.observed_dnf(g).tolist() == [False, True, False, True]
    assert bt.observed_dnf(pd.DataFrame({"x": [1, 2]})).tolist() == [False, False]


def test_front_and_winner_reads_the_front_row_and_the_winner():
    """The front row's (starts 1-2) mean projected and actual points, the winner's, and the
    season means of them per method."""
    import pandas as pd

    from nascar_pipeline.core.backtest import front_and_winner, projection_accuracy

    proj = np.array([10.0, 20.0, 30.0, 40.0])
    y = np.array([50.0, 5.0, 15.0, 25.0])
    start = np.array([3, 1, 2, 4])
    actual = pd.DataFrame({"finish_position": [1, 4, 2, 3]})
    got = front_and_winner(proj, y, start, actual)
    assert got == {
        "front_row_proj_dk": 25.0,
        "front_row_dk": 10.0,
        "winner_proj_dk": 10.0,
        "winner_dk": 50.0,
    }
    rows = pd.DataFrame([got, {**got, "front_row_proj_dk": 35.0}])
    assert projection_accuracy(rows)["front_row_proj_dk"] == 30.0


def test_actual_dominator_points_need_every_fastest_lap_count():
    import pandas as pd

    from nascar_pipeline.core.backtest import actual_dominator_points

    g = pd.DataFrame({"laps_led": [4.0, None, 100.0], "fastest_laps": [10.0, 1.0, 0.0]})
    np.testing.assert_allclose(actual_dominator_points(g), [5.5, 0.45, 25.0])
    g.loc[2, "fastest_laps"] = None  # one missing count: the race has no dominator score
    assert np.isnan(actual_dominator_points(g)).all()


def test_dominator_points_are_the_laps_led_and_fastest_lap_points():
    from nascar_pipeline.core.backtest import dominator_points

    np.testing.assert_allclose(dominator_points([4, 0, 100], [10, 1, 0]), [5.5, 0.45, 25.0])


def test_a_discrete_forecast_covers_its_intervals_own_mass_not_the_level():
    """Whole-number outcomes (places): the closed 50 % interval holds more than half the
    forecast's mass, and outcomes drawn from the forecast itself (calibrated by construction)
    land in it that often, above the nominal 50 %."""
    rng = np.random.default_rng(1)
    support = np.arange(1, 11)  # ten places, probabilities tilted to the front
    p = np.linspace(2.0, 1.0, 10) / np.linspace(2.0, 1.0, 10).sum()
    x = rng.choice(support, size=(4000, 300), p=p).astype(np.float64)
    y = rng.choice(support, size=300, p=p).astype(np.float64)
    mass = bt.interval_mass(x, 0.5)
    assert mass.mean() > 0.55  # the atoms at both ends of [q25, q75]
    assert bt.coverage(x, y, 0.5).mean() == pytest.approx(mass.mean(), abs=0.06)
    # the randomized PIT takes only the atoms' inside share: calibrated draws score the level
    assert bt.pit_coverage(x, y, 0.5).mean() == pytest.approx(0.5, abs=0.05)
    assert bt.pit_coverage(x, y, 0.9).mean() == pytest.approx(0.9, abs=0.04)
    # an outcome outside the support (no atom): inside the band or not, as coverage counts
    far = bt.pit_coverage(x[:, :2], np.array([0.5, 5.5]), 0.5)
    assert far.tolist() == bt.coverage(x[:, :2], np.array([0.5, 5.5]), 0.5).astype(float).tolist()
    # A continuous forecast: the mass is the level.
    z = rng.normal(size=(4000, 50))
    assert bt.interval_mass(z, 0.9).mean() == pytest.approx(0.9, abs=0.002)


def test_summarize_pools_pit_coverage_and_mass_over_the_races_that_recorded_them():
    base = {"method": "model", "order_loglik": -50.0, "brier_top10": 0.1, "crps_dk": 9.0}
    base |= {"cover50": 0.5, "cover90": 0.9}
    per_race = pd.DataFrame(
        [
            base | {"drivers": 10, "mass50": 0.52, "mass90": 0.92, "pit50": 0.5, "pit90": 0.9},
            base | {"drivers": 30, "mass50": 0.56, "mass90": 0.90, "pit50": 0.6, "pit90": 0.8},
            base | {"drivers": 40},  # a row kept by --resume from before: no mass recorded
        ]
    )
    t = bt.summarize(per_race).set_index("method")
    assert t.loc["model", "mass50_pct"] == pytest.approx(55.0)
    assert t.loc["model", "mass90_pct"] == pytest.approx(90.5)
    assert t.loc["model", "pit50_pct"] == pytest.approx(57.5)
    assert t.loc["model", "pit90_pct"] == pytest.approx(82.5)
    dropped = per_race.drop(columns=["mass50", "mass90", "pit50", "pit90"])
    old = bt.summarize(dropped).set_index("method")
    assert np.isnan(old.loc["model", "mass50_pct"]) and np.isnan(old.loc["model", "pit50_pct"])


def _earlier_races():
    """One row per race (as history rows are per start, the race's columns repeated)."""
    races = [
        ("d1", "Darlington", "intermediate", 293),
        ("d2", "Darlington", "intermediate", 367),
        ("d3", "Darlington", "intermediate", 295),  # overtime
        ("d4", "Darlington", "intermediate", 367),
        ("k1", "Kansas", "intermediate", 267),
    ]
    rows = [
        {"race_key": k, "track_name": t, "track_type": tt, "laps": laps, "driver_id": d}
        for k, t, tt, laps in races
        for d in (1, 2)
    ]
    return pd.DataFrame(rows)


def _race(track, laps, track_type="intermediate", **extra):
    from types import SimpleNamespace

    return SimpleNamespace(track_name=track, laps=laps, track_type=track_type, **extra)


def test_forecast_laps_count_comes_from_earlier_races_not_the_races_overtime_or_rain():
    before = _earlier_races()
    # the Southern 500 went to overtime (370): its length class at the track, 367
    assert bt.forecast_laps(_race("Darlington", 370), before) == 367
    # the spring race, 293 scheduled, ran 300: the median of its class (293, 295) -> 294
    assert bt.forecast_laps(_race("Darlington", 300), before) == 294
    # rain stopped it at 180: no earlier race of that length, every race at the track
    assert bt.forecast_laps(_race("Darlington", 180), before) == 331
    # a new track: the median of its track type's earlier races
    assert bt.forecast_laps(_race("Nashville", 305), before) == 295
    # scheduled laps, where known, are what a forecast uses
    assert bt.forecast_laps(_race("Darlington", 370, scheduled_laps=367), before) == 367
    # laps run not recorded: the track's median
    assert bt.forecast_laps(_race("Darlington", pd.NA), before) == 331
    # no earlier race of its type at all: its own laps (nothing else to go on) ...
    assert bt.forecast_laps(_race("X", 200, "road"), before.iloc[:0]) == 200
    # ... and without those a clear error, not a crash
    with pytest.raises(ValueError, match="no laps to forecast it over"):
        bt.forecast_laps(_race("X", None, "road", race_key="r9"), before.iloc[:0])


def test_track_median_laps_is_the_track_then_the_track_type():
    before = _earlier_races()
    assert bt.track_median_laps(before, "Kansas", "intermediate") == 267
    assert bt.track_median_laps(before, "Nashville", "intermediate") == 295
    assert bt.track_median_laps(before, "Sonoma", "road") is None
    assert bt.track_median_laps(before.iloc[:0], "Kansas", "intermediate") is None


def test_forecast_starts_fill_a_missing_start_from_history_not_the_finish():
    before = pd.DataFrame(
        {
            "driver_id": [1, 1, 2, 2, 3],
            "race_date": ["2025-01-01", "2025-01-08"] * 2 + ["2025-01-08"],
            "start_position": [30, 34, 2, 4, 10],
        }
    )
    g = pd.DataFrame(
        {
            "driver_id": [1, 2, 3],
            "start_position": [np.nan, np.nan, 1.0],
            "finish_position": [1, 3, 2],
        }
    )
    # driver 2 (recent mean start 3) before driver 1 (32) in the positions left; driver 1's
    # win does not move him up
    assert bt.forecast_starts(g, before).tolist() == [3, 2, 1]
