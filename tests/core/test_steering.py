"""Steering: the model's validation, check_feasible's named refusals, every control holding in
the exact optimizer (MILP and enumeration) and in the MCMC portfolio, steering_violations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from nascar_pipeline.core.contest import default_gpp_payouts, generate_field
from nascar_pipeline.core.optimize import brute_force_lineups, optimize_lineups, optimize_steered
from nascar_pipeline.core.portfolio import (
    FieldObjective,
    greedy_portfolio,
    mh_sample,
    taste_objective,
)
from nascar_pipeline.core.steering import (
    InfeasibleSteering,
    Steering,
    check_feasible,
    frame_violations,
    linear_taste_objective,
    parse_steering,
    steering_from_flags,
    steering_violations,
)
from nascar_pipeline.errors import UserInputError

CAP = 50_000


def make_slate(n=20, seed=0) -> pd.DataFrame:
    """A synthetic DraftKings slate: driver ids 1001.., salaries 5,000..12,000 in 100s."""
    rng = np.random.default_rng(seed)
    sal = np.sort(rng.integers(50, 121, size=n))[::-1] * 100
    proj = np.round(sal / 1000 * 4.5 + rng.normal(0, 5, size=n), 2)
    return pd.DataFrame(
        {
            "driver_id": np.arange(1001, 1001 + n),
            "driver_name": [f"Driver {i}" for i in range(n)],
            "salary": sal,
            "projection": proj,
        }
    )


def ids_of(slate, idx):
    return [int(slate.driver_id[i]) for i in idx]


def violations(slate, L, steering):
    ids = slate.driver_id.to_numpy()
    return steering_violations(ids[L], steering, dict(zip(ids.tolist(), slate.salary.tolist())))


# ----------------------------------------------------------------------------- the model


def test_model_defaults_and_file_formats():
    s = Steering()
    assert (s.n_lineups, s.global_max_exposure, s.taste, s.max_shared) == (20, 0.6, 1.0, None)
    y = parse_steering(
        "steering:\n  n_lineups: 5\n  lock: [1001]\n"
        "  exposures: [{driver: 1002, min: 0.2, max: 0.8}]\n"
        "  groups: [{name: Hendrick, drivers: [1003, 1004, 1005], at_most: 2}]\n",
        "yaml",
    )
    t = parse_steering(
        "n_lineups = 5\nlock = [1001]\n[[exposures]]\ndriver = 1002\nmin = 0.2\nmax = 0.8\n"
        '[[groups]]\nname = "Hendrick"\ndrivers = [1003, 1004, 1005]\nat_most = 2\n',
        "toml",
    )
    assert y == t
    assert y.groups[0].at_most == 2 and y.exposures[0].driver == 1002


def test_cli_flags_map_onto_the_model():
    base = parse_steering("lock: [1001]\nexposures: [{driver: 1002, max: 0.8}]\n", "yaml")
    s = steering_from_flags(
        base,
        lock=[1003],
        exclude=[1009],
        exposure=["1002=0.1:0.5", "1004=:0.3"],
        group=["Hendrick<=2:1001,1003,1005", "Ford>=1:1006,1007", "Toyota=1..2:1008,1010"],
        n_lineups=40,
        taste=0.5,
        salary_floor=None,
    )
    assert s.lock == [1001, 1003] and s.exclude == [1009] and s.n_lineups == 40
    assert {e.driver: (e.min, e.max) for e in s.exposures} == {
        1002: (0.1, 0.5),
        1004: (0.0, 0.3),
    }
    assert [(g.name, g.at_least, g.at_most) for g in s.groups] == [
        ("Hendrick", None, 2),
        ("Ford", 1, None),
        ("Toyota", 1, 2),
    ]
    assert s.taste == 0.5 and s.salary_floor == 0
    for bad, words in [
        (dict(exposure=["1002:0.5"]), "--exposure '1002:0.5'"),
        (dict(exposure=["x=0.1:0.2"]), "'x' is not a driver id"),
        (dict(group=["Hendrick:1,2"]), "--group 'Hendrick:1,2'"),
    ]:
        with pytest.raises(UserInputError, match=words):
            steering_from_flags(**bad)
    with pytest.raises(ValidationError, match="taste"):
        steering_from_flags(taste=2.0)


@pytest.mark.parametrize(
    "data, words",
    [
        ({"exposures": [{"driver": 1002, "min": 0.5, "max": 0.3}]}, ["exposures", "1002", "0.5"]),
        ({"groups": [{"name": "Ford", "drivers": [1, 2], "at_least": 3}]}, ["groups", "Ford"]),
        (
            {"groups": [{"name": "Ford", "drivers": [1, 2, 3], "at_least": 2, "at_most": 1}]},
            ["Ford", "at_least 2 > at_most 1"],
        ),
        ({"groups": [{"name": "Ford", "drivers": [1, 2]}]}, ["Ford", "at_least, at_most"]),
        ({"lock": [1001, 1001]}, ["lock", "1001", "twice"]),
        ({"exposures": [{"driver": 7}, {"driver": 7, "max": 0.2}]}, ["exposures", "7"]),
        ({"taste": 1.5}, ["taste"]),
        ({"global_max_exposure": 0}, ["global_max_exposure"]),
        ({"lokc": [1]}, ["lokc"]),
    ],
)
def test_model_errors_name_field_and_driver(data, words):
    with pytest.raises(ValidationError) as e:
        Steering.model_validate(data)
    for w in words:
        assert w in str(e.value)


# ----------------------------------------------------------------------------- check_feasible


def _refused(slate, **kw) -> str:
    with pytest.raises(InfeasibleSteering) as e:
        check_feasible(Steering(**kw), slate)
    assert isinstance(e.value, UserInputError)
    return str(e.value)


def test_infeasible_requests_are_refused_by_name():
    sl = make_slate()
    ids = sl.driver_id.tolist()
    msg = _refused(sl, lock=ids[:7], global_max_exposure=1.0)
    assert "lock of 7 drivers > roster size 6" in msg
    msg = _refused(sl, lock=ids[:5], global_max_exposure=1.0)
    assert "locked drivers Driver 0 (1001), Driver 1 (1002)" in msg and "> cap 50,000" in msg
    assert f"cost {sl.salary[:5].sum():,}" in msg
    msg = _refused(sl, lock=[ids[3]], exclude=[ids[3]])
    assert "driver Driver 3 (1004) is both locked and excluded" in msg
    msg = _refused(
        sl,
        exclude=ids[:2],
        groups=[{"name": "Hendrick", "drivers": ids[:5], "at_least": 4}],
        global_max_exposure=1.0,
    )
    assert "group 'Hendrick' at least 4 but only 3 drivers left after excludes" in msg
    ex = [{"driver": d, "min": 0.6, "max": 1.0} for d in ids[:12]]
    msg = _refused(sl, exposures=ex)
    assert "min exposures sum to 7.2 lineup-slots per lineup > 6" in msg
    msg = _refused(sl, exposures=[{"driver": ids[4], "min": 0.5}], global_max_exposure=0.3)
    assert "min_exposure 0.5 > global_max_exposure 0.3 for Driver 4 (1005)" in msg
    cheap = ids[-5:]
    msg = _refused(sl, lock=cheap, salary_floor=49_900, global_max_exposure=1.0)
    assert "salary floor 49,900: no lineup reaches it with these locks" in msg
    msg = _refused(
        sl, lock=[9999], groups=[{"name": "mine", "drivers": [1001, 4242], "at_most": 1}]
    )
    assert "lock: driver 9999 is not on the slate" in msg
    assert "group 'mine': driver 4242 is not on the slate" in msg
    msg = _refused(sl, lock=[ids[0]], exposures=[{"driver": ids[0], "max": 0.5}])
    assert "driver Driver 0 (1001) is locked but max_exposure is 0.5" in msg
    msg = _refused(sl, n_lineups=10, global_max_exposure=0.1)
    assert "exposure caps allow 20 driver-slots over 10 lineups, 60 are needed" in msg
    msg = _refused(sl, lock=ids[10:14], max_shared=3, global_max_exposure=1.0)
    assert "max_shared 3 < 4 locked drivers" in msg
    msg = _refused(sl, n_lineups=3, exposures=[{"driver": ids[2], "min": 0.1, "max": 0.1}])
    assert (
        "driver Driver 2 (1003): min_exposure 0.1 of 3 lineups is 1, max_exposure 0.1 allows 0"
        in msg
    )
    msg = _refused(sl, exclude=ids[:15])
    assert "only 5 drivers left after excludes for a roster of 6" in msg
    # every conflict is named at once
    msg = _refused(sl, lock=ids[:7] + [ids[9]], exclude=[ids[9]], global_max_exposure=1.0)
    assert "lock of 8" in msg and "both locked and excluded" in msg


def test_exact_solve_names_groups_and_floor():
    sl = make_slate()
    ids = sl.driver_id.tolist()
    # each group alone is fine; together they need 7 drivers
    g = [
        {"name": "top", "drivers": ids[:8], "at_least": 1},
        {"name": "bottom", "drivers": ids[14:], "at_least": 6},
    ]
    msg = _refused(sl, groups=g, global_max_exposure=1.0)
    assert "groups 'top', 'bottom' cannot all be met in one lineup" in msg
    # the arithmetic passes (the dearest drivers reach the floor) but at most one of them may play
    g = [{"name": "stars", "drivers": ids[:14], "at_most": 1}]
    msg = _refused(sl, groups=g, salary_floor=49_000, global_max_exposure=1.0)
    assert "salary floor 49,000: no lineup reaches it with these locks, excludes and groups" in msg
    # a group over the cheapest drivers that the cap cannot carry with the locks
    g = [{"name": "cheap", "drivers": ids[-8:], "at_most": 0}]
    msg = _refused(sl, groups=g, lock=ids[:2], global_max_exposure=1.0)
    assert "group 'cheap' cannot be met" in msg


def test_feasible_request_resolves_to_slate_indices():
    sl = make_slate()
    ids = sl.driver_id.tolist()
    a = check_feasible(
        Steering(
            n_lineups=10,
            lock=[ids[5]],
            exclude=[ids[0]],
            exposures=[{"driver": ids[1], "min": 0.3, "max": 0.5}],
            groups=[{"name": "g", "drivers": ids[2:6], "at_most": 2}],
        ),
        sl,
    )
    assert a.locks.tolist() == [5] and 0 in a.banned.tolist()
    assert a.min_count()[1] == 3 and a.max_count()[1] == 5 and a.max_count()[7] == 6
    assert a.max_count()[5] == 10  # a lock is in every lineup: the global cap is not his
    assert a.max_shared == 5 and a.groups[0].at_most == 2


# ----------------------------------------------------------------------------- exact optimizer

RICH = dict(
    n_lineups=12,
    global_max_exposure=0.7,
    max_shared=4,
    salary_floor=47_000,
)


def rich_steering(sl) -> Steering:
    ids = sl.driver_id.tolist()
    best = ids_of(sl, np.argsort(-sl.projection.to_numpy())[:3])
    return Steering(
        **RICH,
        lock=[ids[9]],
        exclude=[best[0]],
        exposures=[
            {"driver": best[1], "max": 0.25},
            {"driver": ids[15], "min": 0.5},
            {"driver": ids[18], "min": 0.25, "max": 0.4},
        ],
        groups=[
            {"name": "Hendrick", "drivers": ids[1:5], "at_most": 1},
            {"name": "Ford", "drivers": ids[10:16], "at_least": 2},
        ],
    )


@pytest.mark.parametrize("method", ["milp", "enumerate"])
def test_every_control_holds_in_the_exact_optimizer(method):
    sl = make_slate()
    st = rich_steering(sl)
    a = check_feasible(st, sl)
    res = optimize_steered(sl.projection.to_numpy(), a, method=method)
    assert len(res.lineups) == 12 and not res.stopped_early
    assert violations(sl, res.lineups, st) == []
    # without the min exposures the sequence would not include the owed drivers as often
    counts = np.bincount(res.lineups.ravel(), minlength=len(sl))
    assert counts[15] >= 6 and 3 <= counts[18] <= 4 and counts[9] == 12


def test_milp_and_enumeration_agree_under_steering():
    sl = make_slate(seed=3)
    a = check_feasible(rich_steering(sl), sl)
    p = sl.projection.to_numpy()
    m = optimize_steered(p, a, method="milp")
    e = optimize_steered(p, a, method="enumerate")
    np.testing.assert_allclose(m.objective, e.objective, atol=1e-6)


@pytest.mark.parametrize("method", ["milp", "enumerate"])
def test_groups_match_brute_force(method):
    sl = make_slate(n=14, seed=2)
    p, sal = sl.projection.to_numpy(), sl.salary.to_numpy()
    groups = [(np.arange(0, 5), None, 1, "stars"), (np.arange(8, 14), 2, None, "value")]
    ours = optimize_lineups(p, sal, 6, CAP, k=15, groups=groups, min_salary=45_000, method=method)
    brute = brute_force_lineups(p, sal, 6, CAP, k=15, groups=groups, min_salary=45_000)
    np.testing.assert_allclose(ours.objective, brute.objective, atol=1e-6)


@pytest.mark.parametrize("method", ["milp", "enumerate"])
def test_min_exposure_is_reached(method):
    sl = make_slate()
    p, sal = sl.projection.to_numpy(), sl.salary.to_numpy()
    worst = int(np.argmin(p))
    mins = np.zeros(len(p))
    mins[worst] = 0.4
    res = optimize_lineups(p, sal, 6, CAP, k=10, min_exposure=mins, method=method)
    assert np.count_nonzero((res.lineups == worst).any(axis=1)) >= 4
    assert len(res.lineups) == 10


def test_optimizer_shortfall_keeps_exposure_over_the_lineups_returned():
    sl = make_slate(n=12)
    # 12 drivers, 6 per lineup, at most 2 shared: few such lineups exist
    st = Steering(n_lineups=20, max_shared=2, global_max_exposure=0.6)
    a = check_feasible(st, sl)
    for method in ("milp", "enumerate"):
        res = optimize_steered(sl.projection.to_numpy(), a, method=method)
        assert 0 < len(res.lineups) < 20 and res.stopped_early
        assert "of 20 lineups" in res.shortfall_reason
        assert violations(sl, res.lineups, st) == []


# ----------------------------------------------------------------------------- MCMC portfolio


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(11)
    sl = make_slate(n=22, seed=5)
    D = len(sl)
    sal = sl.salary.to_numpy()
    mean = sl.projection.to_numpy()
    pts = np.round((mean[None, :] + rng.normal(0, 1, (300, D)) * (0.6 * mean + 5)) * 20) / 20
    own = np.clip(mean, 1, None) ** 2
    own = own / own.sum() * 600
    field = generate_field(own, sal, 6, CAP, 600, min_salary=46_000, rng=rng)
    table = default_gpp_payouts(620, 10.0)
    obj = FieldObjective.build(pts, field, table, n_ours=20)
    return dict(sl=sl, sal=sal, pts=pts, field=field, obj=obj, own=own)


def _candidates(world, a, steps=120, seed=0, taste=1.0):
    sl, obj = world["sl"], world["obj"]
    rng = np.random.default_rng(seed)
    exact = optimize_steered(sl.projection.to_numpy(), a, k=40).lineups
    probe = generate_field(np.ones(len(sl)), world["sal"], 6, CAP, 64, rng=rng, calibrate_iters=0)
    fn = taste_objective(obj, sl.projection.to_numpy(), taste, probe)
    mh = mh_sample(
        fn, world["sal"], 6, CAP, n_chains=4, n_temps=3, steps=steps, rng=rng, steering=a
    )
    return mh, np.vstack([mh.lineups, exact, world["field"]])


def test_mh_candidates_keep_locks_excludes_groups_floor(world):
    sl = world["sl"]
    st = rich_steering(sl)
    a = check_feasible(st, sl)
    mh, _ = _candidates(world, a)
    assert len(mh.lineups) > 20
    assert a.lineup_ok(mh.lineups).all()
    per_lineup = Steering(**{**st.model_dump(), "exposures": [], "global_max_exposure": 1.0})
    per_lineup = per_lineup.model_copy(update={"max_shared": None})
    assert violations(sl, mh.lineups, per_lineup) == []
    assert mh.acceptance[-1] > 0


def test_greedy_keeps_every_control(world):
    sl = world["sl"]
    st = rich_steering(sl)
    a = check_feasible(st, sl)
    _, cands = _candidates(world, a)
    p = greedy_portfolio(world["obj"], cands, st.n_lineups, steering=a)
    assert len(p.lineups) == st.n_lineups and p.shortfall_reason == ""
    assert violations(sl, p.lineups, st) == []
    counts = np.bincount(p.lineups.ravel(), minlength=len(sl))
    assert counts[15] >= 6 and counts[18] >= 3


def test_portfolio_never_exceeds_max_exposure(world):
    """Regression: 20 asked at max_exposure 0.6 put a dominant driver in 12 of 19 (63 %)."""
    sl, obj = world["sl"], world["obj"]
    pts = world["pts"].copy()
    pts[:, 7] += 60.0  # a dominant driver: every good lineup wants him
    dom = FieldObjective.build(pts, world["field"], default_gpp_payouts(620, 10.0), n_ours=20)
    st = Steering(n_lineups=20, global_max_exposure=0.6)
    a = check_feasible(st, sl)
    rng = np.random.default_rng(3)
    cands = generate_field(np.ones(len(sl)), world["sal"], 6, CAP, 400, rng=rng, calibrate_iters=0)
    p = greedy_portfolio(dom, cands, 20, steering=a)
    assert len(p.lineups) == 20
    assert np.count_nonzero((p.lineups == 7).any(axis=1)) <= 12
    # too few candidates for 20 under max_shared 2: fewer lineups, the cap as a share of them
    few = optimize_steered(sl.projection.to_numpy(), check_feasible(Steering(n_lineups=40), sl))
    st2 = Steering(n_lineups=20, global_max_exposure=0.6, max_shared=2)
    p2 = greedy_portfolio(dom, few.lineups, 20, steering=check_feasible(st2, sl))
    assert 0 < len(p2.lineups) < 20 and "of 20 lineups" in p2.shortfall_reason
    assert violations(sl, p2.lineups, st2) == []
    # never raised to one lineup: one lineup at a 0.6 cap is none, and says so
    p3 = greedy_portfolio(obj, cands, 1, max_exposure=0.6)
    assert len(p3.lineups) == 0 and "0 of 1 lineups" in p3.shortfall_reason


def test_reserve_set_completes_a_stuck_greedy(world):
    """Under a tight overlap the greedy over near-identical candidates (the best lineups by
    projection) runs out; the exact set passed as the reserve lets the exact selection return
    every lineup asked for."""
    sl = world["sl"]
    st = Steering(n_lineups=12, max_shared=2, global_max_exposure=0.5)
    a = check_feasible(st, sl)
    proj = sl.projection.to_numpy()
    exact = optimize_steered(proj, a)
    assert len(exact.lineups) == 12
    cands = optimize_lineups(proj, world["sal"], 6, CAP, k=150).lineups
    alone = greedy_portfolio(world["obj"], cands, 12, steering=a, max_rebuilds=0)
    helped = greedy_portfolio(world["obj"], cands, 12, steering=a, reserve=exact.lineups)
    assert len(alone.lineups) < 12 and alone.shortfall_reason
    assert len(helped.lineups) == 12 and helped.shortfall_reason == ""
    assert violations(sl, helped.lineups, st) == []
    assert helped.set_value[-1] >= world["obj"].value(exact.lineups).max() - 1e-9


def test_taste_zero_is_pure_projection(world):
    sl = world["sl"]
    a = check_feasible(Steering(n_lineups=5, taste=0.0, global_max_exposure=1.0), sl)
    rng = np.random.default_rng(4)
    cands = generate_field(np.ones(len(sl)), world["sal"], 6, CAP, 300, rng=rng, calibrate_iters=0)
    proj = sl.projection.to_numpy()
    p = greedy_portfolio(world["obj"], cands, 5, steering=a, projection=proj)
    C = np.unique(np.sort(cands, axis=1), axis=0)
    assert proj[p.lineups[0]].sum() == pytest.approx(proj[C].sum(axis=1).max())
    assert np.all(np.diff(proj[p.lineups].sum(axis=1)) <= 1e-9)  # distinct, by projection
    lin = linear_taste_objective(proj, world["own"], 1.0)
    assert np.all(lin <= proj + 1e-12) and np.allclose(
        linear_taste_objective(proj, world["own"], 0.0), proj
    )


def test_random_steering_every_lineup_passes(world):
    """Property: over random steering, whatever is returned obeys it (or is refused up front)."""
    sl = world["sl"]
    ids = sl.driver_id.tolist()
    D = len(ids)
    proj = sl.projection.to_numpy()
    built = 0
    for seed in range(40):
        r = np.random.default_rng(100 + seed)
        pick = r.permutation(D)
        nl = int(r.integers(0, 3))
        ne = int(r.integers(0, 4))
        lock, exclude = ids_of(sl, pick[:nl]), ids_of(sl, pick[nl : nl + ne])
        rest = pick[nl + ne :]
        exposures = []
        for d in rest[:3]:
            lo = float(r.choice([0.0, 0.1, 0.2]))
            exposures.append({"driver": ids[d], "min": lo, "max": float(r.choice([lo, 0.5, 1.0]))})
        gm = r.permutation(D)[:6]
        groups = [{"name": "g", "drivers": ids_of(sl, gm), "at_most": int(r.integers(1, 4))}]
        if r.random() < 0.5:
            groups.append({"name": "h", "drivers": ids_of(sl, rest[3:10]), "at_least": 1})
        try:
            st = Steering(
                n_lineups=int(r.integers(3, 13)),
                lock=lock,
                exclude=exclude,
                exposures=exposures,
                groups=groups,
                global_max_exposure=float(r.choice([0.4, 0.6, 1.0])),
                max_shared=int(r.integers(3, 6)),
                salary_floor=int(r.choice([0, 46_000, 48_500])),
                taste=float(r.random()),
            )
            a = check_feasible(st, sl)
        except (ValidationError, InfeasibleSteering):
            continue
        built += 1
        method = "milp" if seed % 2 else "enumerate"
        ex = optimize_steered(proj, a, method=method)
        assert violations(sl, ex.lineups, st) == [], (seed, ex.shortfall_reason)
        assert not ex.stopped_early or ex.shortfall_reason
        cands = np.vstack([ex.lineups, world["field"]])
        p = greedy_portfolio(world["obj"], cands, st.n_lineups, steering=a, projection=proj)
        assert violations(sl, p.lineups, st) == [], (seed, p.shortfall_reason)
        assert len(p.lineups) == st.n_lineups or p.shortfall_reason
    assert built >= 15, built


def test_frame_violations_reads_a_lineup_frame():
    from nascar_pipeline.core.lineups import draftkings_lineup_frame

    sl = make_slate().assign(dk_id=lambda d: d.driver_id + 50_000)
    st = Steering(n_lineups=4, lock=[1010], global_max_exposure=1.0)
    a = check_feasible(st, sl)
    L = optimize_steered(sl.projection.to_numpy(), a).lineups
    df = draftkings_lineup_frame(L, sl)
    assert frame_violations(df, st) == []
    bad = Steering(n_lineups=4, lock=[1001], exclude=[1010])
    msgs = frame_violations(df, bad)
    assert "lineup 0: locked driver 1001 missing" in msgs  # not in the frame: no name
    assert "lineup 0: excluded driver Driver 9 (1010) present" in msgs
