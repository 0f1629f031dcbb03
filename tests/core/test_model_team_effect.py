"""Organisation (team) effects under the car (ModelConfig.team_effect): the organisation of
each start (name variants, missing teams), the arrays and the fit key, the model's use of the
effect, the simulator's for an entry whose car it has not seen, warm starts, recovery."""

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from numpyro import handlers

from nascar_pipeline.core.model import ModelConfig, history_hash, prepare_history
from nascar_pipeline.core.model.data import UNKNOWN_ORG, org_name, start_orgs
from nascar_pipeline.core.model.fit import bound_model, remap_init
from nascar_pipeline.core.model.model import WITHIN_UNIFORM


def test_org_name_normalises_case_punctuation_and_company_suffixes_only():
    names = org_name(
        pd.Series(
            [
                "Joe Gibbs Racing, Inc.",
                "JOE GIBBS RACING",
                "joe  gibbs racing llc",
                None,
                " ",
                "B.J. McLeod Motorsports",
                "Gibbs Racing",
            ]  # fmt: skip
        )
    ).tolist()
    assert names[:3] == ["joe gibbs racing"] * 3
    assert names[3:5] == [UNKNOWN_ORG, UNKNOWN_ORG]
    assert names[5] == "bj mcleod motorsports"
    assert names[6] == "gibbs racing"  # another name stays another organisation


def test_a_start_without_team_takes_its_car_numbers_organisation_of_that_or_the_last_season():
    h = pd.DataFrame(
        {
            "season": [2023, 2024, 2024, 2025, 2025, 2025, 2023],
            "race_date": [
                "2023-05-01",
                "2024-05-01",
                "2024-06-01",
                "2025-03-01",
                "2025-03-01",
                "2025-03-01",
                "2023-05-01",
            ],  # fmt: skip
            "car_number": ["11", "11", "11", "11", "99", "7", "7"],
            "team": ["Joe Gibbs Racing", "Joe Gibbs Racing Inc", None, None, None, None, "X"],
        }
    )
    orgs = start_orgs(h).tolist()
    # same season's known start; the latest earlier season's; no history for #99
    assert orgs[2] == "joe gibbs racing"
    assert orgs[3] == "joe gibbs racing"
    assert orgs[4] == UNKNOWN_ORG
    assert orgs[5] == UNKNOWN_ORG  # #7's team is two seasons back: not looked at
    # a later season never fills an earlier start
    later = pd.DataFrame(
        {
            "season": [2023, 2024],
            "race_date": ["2023-01-01", "2024-01-01"],
            "car_number": ["5", "5"],
            "team": [None, "Hendrick"],
        }  # fmt: skip
    )
    assert start_orgs(later).tolist() == [UNKNOWN_ORG, "hendrick"]
    # no team column at all: every start unknown, no error
    assert set(start_orgs(h.drop(columns="team")).tolist()) == {UNKNOWN_ORG}


def _history():
    """Three races of four drivers; driver 4 moves from org A to org B in the last race;
    driver 3 drives car 99 without a team in race 0 (no team of car 99 anywhere: unknown)."""
    rows = []
    teams = {1: "Org A", 2: "Org A", 3: "Org B", 4: "Org A"}
    for r, date in enumerate(["2024-03-01", "2024-03-08", "2024-03-15"]):
        for d in range(1, 5):
            team = teams[d]
            if d == 4 and r == 2:
                team = "org b, inc."
            car = str(d + 9)
            if d == 3 and r == 0:
                team, car = None, "99"
            rows.append(
                dict(
                    race_key=f"r{r}",
                    season=2024,
                    race_date=date,
                    track_type="intermediate",
                    track_name="T",
                    laps=200,
                    driver_id=d,
                    driver_name=f"D{d}",
                    car_number=car,
                    team=team,
                    start_position=d,
                    finish_position=((d + r) % 4) + 1,
                    laps_completed=200,
                    laps_led=50,
                    fastest_laps=10,
                    status="running",
                )
            )
    return pd.DataFrame(rows)


def test_arrays_fit_key_and_flag_off():
    hist = _history()
    off = prepare_history(hist, ModelConfig())
    on = prepare_history(hist, ModelConfig(team_effect=True))
    assert "org" not in off.arrays and off.org_names == []
    assert on.org_names == [UNKNOWN_ORG, "org a", "org b"]
    R, N = on.arrays["drv"].shape
    assert on.arrays["org"].shape == (R, N)
    oi = on.org_index()
    # race 2 (the last, slots in finishing order): driver 4 drives for org b
    slot = int(
        np.flatnonzero((on.arrays["drv"][2] == on.driver_index()[4]) & (on.arrays["mask"][2] > 0))[
            0
        ]
    )
    assert on.arrays["org"][2, slot] == oi["org b"]
    slot0 = int(np.flatnonzero(on.arrays["drv"][0] == on.driver_index()[3])[0])
    assert on.arrays["org"][0, slot0] == oi[UNKNOWN_ORG]
    # driver 4 links org a and org b: one group; the unknown org shares driver 3 with org b
    group = on.arrays["org_group"]
    assert group[oi["org a"]] == group[oi["org b"]] == group[oi[UNKNOWN_ORG]]
    assert group.shape == (on.n_orgs_padded,) and on.n_orgs_padded > len(on.org_names)
    # a car number's organisation of its latest start (car 13 moved to org b in race 2)
    assert on.stats["car_org"]["10"] == "org a" and on.stats["car_org"]["13"] == "org b"
    assert "99" not in on.stats["car_org"]
    # the fit key: unchanged when off, and it sees the teams when on
    assert "team_effect" not in ModelConfig().as_dict()
    other = hist.assign(team=hist["team"].replace({"Org B": "Org C"}))
    assert history_hash(hist, ModelConfig()) == history_hash(other, ModelConfig())
    cfg = ModelConfig(team_effect=True)
    assert history_hash(hist, cfg) != history_hash(other, cfg)


def test_the_model_adds_the_organisation_effect_to_ability():
    """org_effect is sigma_org * org_z as contrasts within its groups, and moving one
    organisation's effect moves the finishing-order likelihood."""
    data = prepare_history(_history(), ModelConfig(team_effect=True))
    kwargs = {k: jnp.asarray(v) for k, v in data.arrays.items()}
    model = bound_model(data)
    trace = handlers.trace(handlers.seed(model, 0)).get_trace(**kwargs)
    sigma = float(trace["sigma_org"]["value"])
    raw = sigma * np.asarray(trace["org_z"]["value"])
    eff = np.asarray(trace["org_effect"]["value"])
    group, weight = data.arrays["org_group"], data.arrays["org_weight"]
    for g in set(group.tolist()):
        m = group == g
        np.testing.assert_allclose(
            np.average(eff[m], weights=weight[m]),
            WITHIN_UNIFORM * np.average(raw[m], weights=weight[m]),
            atol=1e-5,
        )
    z = np.zeros(data.n_orgs_padded, np.float32)

    def order_ll(org_z):
        values = {"org_z": org_z, "sigma_org": 1.0}
        tr = handlers.trace(handlers.substitute(handlers.seed(model, 0), values)).get_trace(
            **kwargs
        )
        return float(tr["finishing_order"]["fn"].log_prob(0.0))

    moved = z.copy()
    moved[data.org_index()["org a"]] = 3.0
    assert abs(order_ll(moved) - order_ll(z)) > 1e-3


def _posterior(data, n=40):
    from numpyro.infer import Predictive

    from nascar_pipeline.core.model.model import POSTERIOR_SITES

    kwargs = {k: jnp.asarray(v) for k, v in data.arrays.items()}
    import jax

    draws = Predictive(bound_model(data), num_samples=n)(jax.random.PRNGKey(0), **kwargs)
    post = {k: np.asarray(v) for k, v in draws.items() if k in POSTERIOR_SITES}
    # a calm world: skills and cars equal, the organisations apart
    for k in ("skill", "skill_track", "car_effect"):
        post[k] = np.zeros_like(post[k])
    post["start_effect"] = np.zeros_like(post["start_effect"])
    post["sigma_org"] = np.full_like(post["sigma_org"], 1e-3)
    return post


def test_the_simulator_gives_a_new_car_its_organisations_level():
    from nascar_pipeline.core.simulate import simulate_race

    data = prepare_history(_history(), ModelConfig(team_effect=True))
    post = _posterior(data)
    oi = data.org_index()
    post["org_effect"] = np.zeros_like(post["org_effect"])
    post["org_effect"][:, oi["org a"]] = 3.0
    post["org_effect"][:, oi["org b"]] = -3.0
    entries = pd.DataFrame(
        {
            "driver_id": [1, 3, 50, 51],
            # cars never seen; 50 a rookie in org A; 51 without a team on car 11, org A's
            "car_number": ["77", "78", "79", "11"],
            "team": ["Org B", "Org A", "ORG A INC", None],
            "start_position": [1, 2, 3, 4],
            "season": [2025] * 4,
        }
    )
    sc = simulate_race(post, data, entries, "intermediate", laps=200, n_scenarios=400, seed=1)
    mean_finish = dict(zip(sc.driver_ids, sc.finish_position.mean(axis=0)))
    # driver 1 (org A before) now drives for org B: behind the org A entries
    assert mean_finish[1] > max(mean_finish[3], mean_finish[50], mean_finish[51]) + 1.0
    # an entry of an organisation the fit has not seen, or with no team at all: no error
    entries2 = entries.assign(team=["Org Z", None, None, None], car_number=["1", "2", "3", "4"])
    sc2 = simulate_race(post, data, entries2, "intermediate", laps=200, n_scenarios=50, seed=1)
    assert sc2.finish_position.shape == (50, 4)


def test_warm_start_remaps_organisations_by_name():
    old = prepare_history(_history(), ModelConfig(team_effect=True))
    hist = _history()
    hist.loc[hist["driver_id"] == 2, "team"] = "Org C"  # a new organisation in the next fit
    new = prepare_history(hist, ModelConfig(team_effect=True))
    locs = {"org_z": np.arange(old.n_orgs_padded, dtype=np.float32) + 1.0}
    scales = {"org_z": np.full(old.n_orgs_padded, 0.5, np.float32)}
    nl, ns = remap_init((locs, scales), old, new)
    oi_old, oi_new = old.org_index(), new.org_index()
    assert nl["org_z"].shape == (new.n_orgs_padded,)
    assert nl["org_z"][oi_new["org b"]] == locs["org_z"][oi_old["org b"]]
    assert nl["org_z"][oi_new["org c"]] == 0.0 and ns["org_z"][oi_new["org c"]] == 1.0


@pytest.mark.slow
def test_organisation_effects_are_recovered_from_drivers_who_move():
    """Six organisations, two drivers each; half the drivers change organisation halfway:
    the posterior mean organisation effects (centred) follow the truth."""
    from nascar_pipeline.core.model import FitConfig, fit_model
    from tests.support.synthetic_history import synthetic_history

    n_drivers, n_races, n_orgs = 24, 40, 6
    truth = np.array([1.2, 0.6, 0.0, -0.3, -0.6, -0.9])
    base = np.arange(n_drivers) % n_orgs
    org = np.repeat(base[:, None], n_races, axis=1)
    movers = np.arange(0, n_drivers, 2)
    org[movers, n_races // 2 :] = (base[movers, None] + 1 + movers[:, None] % 5) % n_orgs
    hist, _ = synthetic_history(
        n_drivers=n_drivers, n_races=n_races, seed=2, org=org, org_effect=truth
    )
    hist["car_number"] = "1"  # the organisations carry the team level, not cars
    cfg = ModelConfig(half_life_days=1e9, history_days=100_000, team_effect=True)
    data = prepare_history(hist, cfg)
    fit = fit_model(data, FitConfig(num_warmup=200, num_samples=200, num_chains=2, seed=1))
    idx = [data.org_index()[f"org {k}"] for k in range(n_orgs)]
    est = fit.flat()["org_effect"][:, idx].mean(axis=0)
    corr = np.corrcoef(est, truth)[0, 1]
    assert corr > 0.8, (corr, est)


def test_stale_fallback_remaps_organisation_draws_by_name():
    from nascar_pipeline.core.model.escalation import remap_posterior

    old = prepare_history(_history(), ModelConfig(team_effect=True))
    hist = _history()
    hist.loc[hist["driver_id"] == 2, "team"] = "Org C"
    new = prepare_history(hist, ModelConfig(team_effect=True))
    post = {
        "org_effect": np.arange(old.n_orgs_padded, dtype=np.float32)[None, None].repeat(3, 1),
        "sigma_org": np.full((1, 3), 0.01, np.float32),
    }
    out, _ = remap_posterior(post, [], [], new, old_orgs=old.org_names)
    b_old, b_new = old.org_index()["org b"], new.org_index()["org b"]
    assert out["org_effect"].shape == (1, 3, new.n_orgs_padded)
    assert np.all(out["org_effect"][:, :, b_new] == b_old)
    assert np.all(np.abs(out["org_effect"][:, :, new.org_index()["org c"]]) < 0.1)
    # a race fitted without organisation effects: the old fit's organisation draws are dropped
    # (they were laid out as an empty axis, which broke the stale fit's diagnostics)
    off = prepare_history(_history(), ModelConfig(team_effect=False))
    out_off, _ = remap_posterior(post, [], [], off, old_orgs=old.org_names)
    assert "org_effect" not in out_off and "sigma_org" not in out_off


def test_an_entry_of_no_known_organisation_is_not_given_the_unknown_starts_level():
    from nascar_pipeline.core.simulate import entry_orgs

    data = prepare_history(_history(), ModelConfig(team_effect=True))
    entries = pd.DataFrame(
        {"driver_id": [1, 2], "car_number": ["98", "11"], "team": [None, None]}
    )  # car 98 never seen (no organisation); car 11 is org A's
    o_idx, o_known = entry_orgs(entries, data, 2)
    assert o_known.tolist() == [False, True]
    assert o_idx[1] == data.org_index()["org a"]


def test_an_entry_takes_its_car_numbers_organisation_only_from_that_or_the_last_season():
    """The fit's rule for a start without a team (start_orgs): the history's car 11 was org A's
    in 2024; an entry in 2025 keeps it, one in 2026 does not (the number may have changed
    hands), and an entry without a season falls back to the latest organisation."""
    from nascar_pipeline.core.simulate import entry_orgs

    data = prepare_history(_history(), ModelConfig(team_effect=True))
    assert data.stats["car_org_season"]["11"] == 2024

    def known(**season):
        entries = pd.DataFrame({"driver_id": [1], "car_number": ["11"], "team": [None], **season})
        return entry_orgs(entries, data, 1)[1].tolist()

    assert known(season=[2025]) == [True]
    assert known(race_date=["2025-02-16"]) == [True]
    assert known(season=[2026]) == [False]
    assert known(race_date=["2026-02-15"]) == [False]
    assert known() == [True]


def test_a_car_numbers_organisation_is_the_one_a_start_named_not_one_inferred_from_it():
    """A 2025 season without team names (the real history's) infers car 11's organisation
    from 2024 for the fit; the simulator's 2026 entry must not carry that inference one season
    further than start_orgs would (a 2026 start of car 11 without a team is unknown there)."""
    from nascar_pipeline.core.simulate import entry_orgs

    h = _history()
    later = h[h["race_key"] == "r2"].assign(race_key="r3", season=2025, team=None)
    later["race_date"] = "2025-03-01"
    data = prepare_history(pd.concat([h, later], ignore_index=True), ModelConfig(team_effect=True))
    assert data.stats["car_org"]["11"] == "org a" and data.stats["car_org_season"]["11"] == 2024
    t = pd.concat([h, later, later.assign(race_key="r4", season=2026)], ignore_index=True)
    t.loc[t["race_key"] == "r4", "race_date"] = "2026-03-01"
    fit_rule = start_orgs(t)[(t["race_key"] == "r4") & (t["car_number"] == "11")]
    assert fit_rule.tolist() == [UNKNOWN_ORG]
    entry = pd.DataFrame({"driver_id": [1], "car_number": ["11"], "team": [None]})
    assert entry_orgs(entry.assign(season=2026), data, 1)[1].tolist() == [False]
    assert entry_orgs(entry.assign(season=2025), data, 1)[1].tolist() == [True]


def test_posterior_summary_names_each_organisation_effect():
    from nascar_pipeline.core.posterior_summary import posterior_summary

    on = prepare_history(_history(), ModelConfig(team_effect=True))
    draws = np.random.default_rng(0).normal(size=(2, 6, on.n_orgs_padded))
    diag = {"draws": 12, "chains": 2, "divergences": 0}
    s = posterior_summary({"org_effect": draws}, on, diag, "key", {})
    assert s["organisation"].tolist() == on.org_names  # real organisations only, in order
    assert s["organisation"].dtype == "string" and s["car_number"].isna().all()
