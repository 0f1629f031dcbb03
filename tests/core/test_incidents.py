"""The scenarios' incident layer (core/incidents.py): inert when off, sharper orders and
heavier tails when on, and the backtest's order scoring by the mixture over incidents."""

import itertools

import numpy as np
import pytest

from nascar_pipeline.core import backtest as bt
from nascar_pipeline.core.incidents import OFF, TUNED, Incidents
from tests.core.test_model_scenarios import _fake_posterior, world  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def pace_world(world):  # noqa: F811 (the imported fixture)
    """The scenario tests' world with one known order of pace: the same skills in every draw,
    no track offsets."""
    data, entries = world
    post = _fake_posterior(data)
    post["skill"] = np.repeat(2.0 * post["skill"][:1], len(post["skill"]), axis=0)
    post["skill_track"] = np.zeros_like(post["skill_track"])
    return data, entries, post


def _simulate(pace_world, incidents, n=3000, track_type="intermediate"):
    from nascar_pipeline.core.simulate import simulate_race

    data, entries, post = pace_world
    return simulate_race(
        post, data, entries, track_type, laps=200, n_scenarios=n, seed=5, incidents=incidents
    )


def test_parse_and_validation():
    assert Incidents.parse("off") is OFF and OFF.off
    assert Incidents.parse("tuned") is TUNED
    assert Incidents.parse(" 1.5, 0.2 ,4 ") == Incidents(1.5, 0.2, 4.0)
    assert not Incidents(1.5, 0.2, 4.0).off
    assert Incidents(1.0, 0.2, 0.0).off  # incidents that cost nothing change nothing
    for bad, word in (("1.5,0.2", "SHARPEN,RATE,COST"), ("x,0.2,4", "must be numbers"),
                      ("0,0.1,1", "sharpen"), ("1,1.0,1", "rate"), ("1,0.1,-1", "cost"),
                      ("1,0.1,inf", "finite"), ("nan,0,0", "finite")):  # fmt: skip
        with pytest.raises(ValueError, match=word):
            Incidents.parse(bad)


def test_tuned_leaves_superspeedways_off_and_says_so():
    assert TUNED.for_track_type("superspeedway") is OFF
    assert TUNED.for_track_type("road") == Incidents(2.0, 0.1, 4.0)
    assert TUNED.for_track_type("intermediate") == Incidents(1.5, 0.1, 4.0)
    assert TUNED.describe() == (
        "sharpen 1.5, rate 0.1, cost 4.0 (road: 2.0, 0.1, 4.0; short: 1.5, 0.1, 2.0; "
        "off on superspeedway)"
    )
    assert OFF.describe() == "off" and Incidents(1.0, 0.3, 0.0).settings() == OFF.settings()
    # a backtest run recorded with the exception differs from one without it (--resume)
    assert TUNED.settings() != Incidents(1.5, 0.1, 4.0).settings()
    # track types: one spelling (hashable), and a name the simulator never passes is refused
    assert Incidents(1.5, 0.1, 2.0, [" Road", "road"]).off_track_types == ("road",)
    with pytest.raises(ValueError, match="unknown track type"):
        Incidents(1.5, 0.1, 2.0, ("super speedway",))


def test_tuned_draws_a_superspeedway_as_off_and_another_track_type_with_the_layer(pace_world):
    off = _simulate(pace_world, OFF, n=500, track_type="superspeedway")
    tuned = _simulate(pace_world, TUNED, n=500, track_type="superspeedway")
    np.testing.assert_array_equal(off.finish_position, tuned.finish_position)
    assert tuned.incidents is OFF  # what the backtest scores the race with
    road = _simulate(pace_world, TUNED, n=500, track_type="road")
    assert road.incidents == Incidents(2.0, 0.1, 4.0)
    plain = _simulate(pace_world, OFF, n=500, track_type="road")
    assert not np.array_equal(road.finish_position, plain.finish_position)


def test_off_and_costless_incidents_draw_the_same_scenarios(pace_world):
    a = _simulate(pace_world, OFF, n=500)
    b = _simulate(pace_world, Incidents(1.0, 0.3, 0.0), n=500)
    np.testing.assert_array_equal(a.finish_position, b.finish_position)
    np.testing.assert_array_equal(a.dk_points, b.dk_points)
    np.testing.assert_array_equal(a.utility, b.utility)


def test_sharpen_and_incidents_change_the_order_as_documented(pace_world):
    off = _simulate(pace_world, OFF)
    sharp = _simulate(pace_world, Incidents(2.0, 0.0, 0.0))
    both = _simulate(pace_world, Incidents(2.0, 0.3, 4.0))
    fav = int(np.argmax(off.utility.mean(axis=0)))  # the car with the best mean utility
    win = {k: float(np.mean(s.finish_position[:, fav] == 1)) for k, s in
           (("off", off), ("sharp", sharp), ("both", both))}  # fmt: skip
    assert win["sharp"] > 1.3 * win["off"]  # a sharper order: the favourite wins more
    # incidents: a heavier tail behind the front (running, worse than 5th: 1.1 % sharpened
    # alone, 20.3 % with incidents at these seeds)
    back = {k: float(np.mean(s.finish_position[:, fav][~s.dnf[:, fav]] > 5)) for k, s in
            (("sharp", sharp), ("both", both))}  # fmt: skip
    assert back["both"] > back["sharp"] + 0.1
    np.testing.assert_allclose(sharp.utility, 2.0 * off.utility - off.dnf_penalty[:, None]
                               * off.dnf_prob, rtol=1e-4, atol=1e-4)  # fmt: skip


def _exact_mixture(perf, p, pen, rate, cost, fin) -> float:
    """P(order) summed over every DNF and incident configuration (an incident matters only
    for a car that runs to the end)."""
    total = 0.0
    n = len(perf)
    for d in itertools.product((0, 1), repeat=n):
        d = np.array(d)
        pd_ = np.prod(np.where(d == 1, p, 1 - p))
        for j in itertools.product((0, 1), repeat=n):
            j = np.array(j)
            pj = np.prod(np.where(j == 1, rate, 1 - rate))
            u = perf + pen * d - cost * (j * (1 - d))
            total += pd_ * pj * np.exp(bt.pl_loglik(u, fin))
    return float(np.log(total))


def test_incident_scoring_matches_the_exact_sum():
    """A 5-car race whose favourite finished 4th still running: the importance-sampled
    log P(order) is within 0.03 nats of the exact sum over all 32 x 32 DNF and incident
    configurations, and above the score of the same draws without incidents."""
    perf = np.array([[2.5, 1.0, 0.5, 0.0, -0.5], [2.0, 1.2, 0.2, 0.1, -0.2]])
    p = np.array([[0.1, 0.1, 0.2, 0.1, 0.15], [0.1, 0.1, 0.1, 0.2, 0.1]])
    pen = np.array([-3.0, -2.5])
    fin = np.array([4, 1, 2, 3, 5])
    observed = np.zeros(5, bool)
    rate, cost = 0.15, 3.0
    exact = np.log(
        np.mean([np.exp(_exact_mixture(perf[s], p[s], pen[s], rate, cost, fin)) for s in (0, 1)])
    )
    util = perf + pen[:, None] * p
    est = bt.order_loglik_dnf_mixture(
        util, p, pen, fin, observed, seed=2, draws=20_000, incident_rate=rate, incident_cost=cost
    )
    assert est == pytest.approx(exact, abs=0.08)  # sd about 0.02 over seeds
    plain = bt.order_loglik_dnf_mixture(util, p, pen, fin, observed, seed=2, draws=20_000)
    assert plain < exact - 0.2  # the favourite's 4th place is likelier with incidents


@pytest.mark.parametrize("scale, cost", [(1.0, 3.0), (3.0, 0.01), (5.0, 30.0)])
def test_incident_posterior_is_each_cars_exact_conditional(monkeypatch, scale, cost):
    """incident_posterior: P(incident on car i | order, no other incident) equals the prior odds
    times the ratio of the two Plackett-Luce probabilities, computed directly; in blocks of
    scenarios as in one (a cost past 28 nats too: no term clipped)."""
    rng = np.random.default_rng(0)
    util = scale * rng.normal(size=(3, 7))
    fin = rng.permutation(7) + 1
    rate = 0.1
    post = bt.incident_posterior(util, fin, rate, cost)
    monkeypatch.setattr(bt, "INCIDENT_IS_CHUNK", 2)
    np.testing.assert_allclose(bt.incident_posterior(util, fin, rate, cost), post, atol=1e-12)
    for s, i in itertools.product(range(3), range(7)):
        lowered = util[s].copy()
        lowered[i] -= cost
        log_lr = bt.pl_loglik(lowered, fin) - bt.pl_loglik(util[s], fin)
        odds = rate / (1 - rate) * np.exp(log_lr)
        assert post[s, i] == pytest.approx(odds / (1 + odds), abs=1e-9)
    # the favourite of a race who finished last is the likeliest to have had one
    util = np.array([[3.0, 1.0, 0.5, 0.0, -0.5]])
    post = bt.incident_posterior(util, np.array([5, 1, 2, 3, 4]), rate, 3.0)
    assert post[0, 0] > 0.9 and post[0, 1:].max() < 0.2


def test_incident_posterior_behind_a_dominant_leader_is_exact():
    """Three cars 40 nats behind the winner: their stages' denominators hold only them, which a
    difference of running sums from the winner's stage loses (1 + e^-40 == 1). The last car's
    posterior from the closed form: its incident takes (1 - e^-c) / m of the denominator of the
    stages where m of the three are left, and e^-c of its own."""
    rate, cost = 0.1, 2.0
    post = bt.incident_posterior(
        np.array([[0.0, -40.0, -40.0, -40.0]]), np.arange(1, 5), rate, cost
    )
    take = -np.expm1(-cost)
    log_lr = -np.log1p(-take / 3) - np.log1p(-take / 2)  # the winner's stage: 1 + e^-40 == 1
    odds = rate / (1 - rate) * np.exp(log_lr)
    assert post[0, 3] == pytest.approx(odds / (1 + odds), rel=1e-9)


def test_incident_scoring_matches_the_exact_sum_where_the_proposal_leans_hard():
    """A rare, costly incident (rate 0.02, cost 5) and a favourite who finished last still
    running: the proposal gives him an incident in most draws where the prior gives one in 50,
    and the weights keep the estimate on the exact sum for every seed."""
    perf = np.array([[2.5, 1.0, 0.5, 0.0, -0.5], [2.0, 1.2, 0.2, 0.1, -0.2]])
    p = np.full((2, 5), 0.01)
    pen = np.array([-3.0, -2.5])
    fin = np.array([5, 1, 2, 3, 4])
    rate, cost = 0.02, 5.0
    util = perf + pen[:, None] * p
    assert bt.incident_posterior(perf, fin, rate, cost)[:, 0].min() > 0.5
    exact = np.log(
        np.mean([np.exp(_exact_mixture(perf[s], p[s], pen[s], rate, cost, fin)) for s in (0, 1)])
    )
    for seed in range(3):
        est = bt.order_loglik_dnf_mixture(
            util, p, pen, fin, np.zeros(5, bool), seed=seed, draws=20_000,
            incident_rate=rate, incident_cost=cost,
        )  # fmt: skip
        assert est == pytest.approx(exact, abs=0.05)


def test_incident_scoring_with_an_observed_dnf_matches_the_exact_sum():
    """The last car was out (observed): its incident flag is integrated out, the others'
    proposed from the order; the estimate stays on the exact sum."""
    perf = np.array([[2.5, 1.0, 0.5, 0.0, -0.5], [2.0, 1.2, 0.2, 0.1, -0.2]])
    p = np.full((2, 5), 0.1)
    pen = np.array([-3.0, -2.5])
    fin = np.array([3, 1, 2, 4, 5])
    observed = np.array([False, False, False, False, True])
    rate, cost = 0.1, 3.0
    exact = np.log(
        np.mean([np.exp(_exact_mixture(perf[s], p[s], pen[s], rate, cost, fin)) for s in (0, 1)])
    )
    est = bt.order_loglik_dnf_mixture(
        perf + pen[:, None] * p, p, pen, fin, observed, seed=4, draws=20_000,
        incident_rate=rate, incident_cost=cost,
    )  # fmt: skip
    assert est == pytest.approx(exact, abs=0.05)


def test_a_track_type_can_take_its_own_setting():
    inc = Incidents.parse("1.5,0.1,2; Road=2,0.1,4 ;superspeedway=off")
    assert inc == Incidents(1.5, 0.1, 2.0, ("superspeedway",), (("road", 2.0, 0.1, 4.0),))
    assert inc.for_track_type("road") == Incidents(2.0, 0.1, 4.0)
    assert inc.for_track_type("short") == Incidents(1.5, 0.1, 2.0)
    assert inc.for_track_type("superspeedway") is OFF
    assert inc.describe() == (
        "sharpen 1.5, rate 0.1, cost 2.0 (road: 2.0, 0.1, 4.0; off on superspeedway)"
    )
    # what --resume compares: the track type's own setting is part of the run's settings
    assert inc.settings()["incidents_by_track_type"] == {"road": [2.0, 0.1, 4.0]}
    assert inc.settings() != Incidents(1.5, 0.1, 2.0, ("superspeedway",)).settings()
    # one spelling per way of drawing (what --resume compares): a track type's own setting
    # that draws nothing is that type left off, one equal to the base is the base, nothing is
    # left off an off base
    assert Incidents.parse("1.5,0.1,2;road=1,0.2,0") == Incidents.parse("1.5,0.1,2;road=off")
    assert Incidents.parse("1.5,0.1,2;road=1.5,0.1,2") == Incidents(1.5, 0.1, 2.0)
    assert Incidents.parse("off") == Incidents.parse("1,0,0;superspeedway=off")
    assert Incidents(1.0, 0.0, 0.0, (), (("road", 1.0, 0.2, 0.0),)).canonical() is OFF
    assert Incidents.parse("1,0.1,0;road=2,0.1,4").for_track_type("short") is OFF
    # a base that draws nothing has one spelling and says it is off
    off_base = Incidents.parse("1,0.1,0;road=2,0.1,4")
    assert off_base == Incidents.parse("1,0,0;road=2,0.1,4") and off_base.as_tuple() == (1, 0, 0)
    assert off_base.describe() == "off (road: 2.0, 0.1, 4.0)"
    assert not Incidents(1.0, 0.0, 0.0, (), (("road", 2.0, 0.1, 4.0),)).off
    for bad, word in (("tuned;road=off", "follow SHARPEN,RATE,COST"),
                      ("1,0.1,2;road", "TRACK_TYPE=off"),
                      ("1,0.1,2;raod=off", "unknown track type 'raod'"),
                      ("1,0.1,2;road=1,2", "SHARPEN,RATE,COST"),
                      ("1,0.1,2;road=0,0.1,2", "sharpen"),
                      ("1,0.1,2;road=off;road=2,0.1,4", "given two settings")):  # fmt: skip
        with pytest.raises(ValueError, match=word):
            Incidents.parse(bad)


def test_a_track_types_own_setting_draws_its_races(pace_world):
    inc = Incidents(1.5, 0.1, 2.0, (), (("road", 2.5, 0.2, 4.0),))
    road = _simulate(pace_world, inc, n=500, track_type="road")
    assert road.incidents == Incidents(2.5, 0.2, 4.0)
    same = _simulate(pace_world, Incidents(2.5, 0.2, 4.0), n=500, track_type="road")
    np.testing.assert_array_equal(road.finish_position, same.finish_position)
    other = _simulate(pace_world, inc, n=500, track_type="short")
    assert other.incidents == Incidents(1.5, 0.1, 2.0)
