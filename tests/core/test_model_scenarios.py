"""Scenario validity, the Parquet layout, hand-checked points, projections and the convergence
rule, on a fixed (hand-made) posterior so no MCMC runs here."""

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core import rules
from tests.support.synthetic_history import synthetic_history


def _fake_posterior(data, n_draws=8, seed=0):
    rng = np.random.default_rng(seed)
    Dp, Cp = data.n_drivers_padded, data.n_cars_padded
    return {
        "sigma_skill": np.full(n_draws, 0.8),
        "skill": rng.normal(0, 0.8, (n_draws, Dp)),
        "sigma_track": np.full(n_draws, 0.2),
        "skill_track": rng.normal(0, 0.2, (n_draws, Dp, 4)),
        "sigma_car": np.full(n_draws, 0.1),
        "car_effect": rng.normal(0, 0.1, (n_draws, Cp)),
        "log_scale_other": np.zeros((n_draws, 3)),
        "start_effect": np.full((n_draws, 4), -0.8),
        "dnf_penalty": np.full(n_draws, -3.0),
        "dnf_base": np.full((n_draws, 4), -2.0),
        "dnf_start": np.zeros(n_draws),
        "dnf_ability": np.full(n_draws, -0.3),
        "led_base": np.full((n_draws, 4), -3.0),
        "led_perf": np.full(n_draws, 2.0),
        "fast_base": np.full((n_draws, 4), -1.0),
        "fast_perf": np.full(n_draws, 1.0),
        "fast_led": np.full(n_draws, 0.4),
    }


@pytest.fixture(scope="module")
def world():
    from nascar_pipeline.core.model import prepare_history

    hist, _ = synthetic_history(n_drivers=20, n_races=12, seed=2)
    data = prepare_history(hist)
    entries = hist[hist["race_key"] == hist["race_key"].iloc[-1]][
        ["driver_id", "driver_name", "car_number", "start_position"]
    ].copy()
    # Two newcomers (no history, unknown car) and a salary column.
    extra = pd.DataFrame(
        {
            "driver_id": [9001, 9002],
            "driver_name": ["Rookie A", "Rookie B"],
            "car_number": ["77", "78"],
            "start_position": [21, 22],
        }
    )
    entries = pd.concat([entries, extra], ignore_index=True)
    entries["salary"] = np.linspace(11000, 4500, len(entries)).round(-2).astype(int)
    entries["dk_id"] = np.arange(len(entries)) + 5000
    return data, entries


@pytest.fixture(scope="module")
def scenarios(world):
    from nascar_pipeline.core.simulate import simulate_race

    data, entries = world
    return simulate_race(
        _fake_posterior(data), data, entries, "short", laps=250, n_scenarios=2000, seed=1
    )


def test_scenarios_are_valid(scenarios):
    from nascar_pipeline.core.simulate import scenario_sanity

    ok, details = scenario_sanity(scenarios)
    assert ok, details
    S, D = scenarios.finish_position.shape
    assert (S, D) == (2000, 22)
    assert np.all(scenarios.laps_led.sum(axis=1) == 250)
    frac = scenarios.fastest_laps.sum(axis=1) / 250
    assert 0.6 < frac.mean() < 0.9
    assert not scenarios.start_imputed
    # Newcomers simulate (partial pooling), never an error.
    assert np.isfinite(scenarios.dk_points).all()


def test_parquet_layout_and_points_matrix(scenarios, tmp_path):
    from nascar_pipeline.core.simulate import SCENARIO_COLUMNS, scenario_points_matrix

    df = scenarios.to_frame()
    assert list(df.columns) == list(SCENARIO_COLUMNS)
    assert {c: str(t) for c, t in df.dtypes.items()} == SCENARIO_COLUMNS
    assert len(df) == 2000 * 22
    assert df.equals(df.sort_values(["scenario", "driver_id"]).reset_index(drop=True))
    p = tmp_path / "s.parquet"
    df.to_parquet(p, index=False)
    back = pd.read_parquet(p)
    ids, m = scenario_points_matrix(back, "draftkings")
    assert m.dtype == np.float32 and m.shape == (2000, 22)
    assert np.array_equal(ids, np.sort(scenarios.driver_ids))
    np.testing.assert_allclose(m, scenarios.dk_points)
    _, mf = scenario_points_matrix(back, "fanduel")
    np.testing.assert_allclose(mf, scenarios.fd_points)


def test_points_hand_checked(scenarios):
    # Hand-computed: DK start 10, finish 1, 30 led, 2 fastest = 45 + 9 + 7.5 + 0.9 = 62.4.
    assert rules.draftkings_points(10, 1, 30, 2) == pytest.approx(62.4)
    # DK start 5, finish 25, 0 led, 0 fastest = (42 - 25) + (5 - 25) = -3.
    assert rules.draftkings_points(5, 25, 0, 0) == pytest.approx(-3.0)
    # FD start 10, finish 1, 207 completed, 30 led = 43 + 4.5 + 20.7 + 3.0 = 71.2.
    assert rules.fanduel_points(10, 1, 30, 207) == pytest.approx(71.2)
    # Every scenario row agrees with a by-hand recomputation of the DK / FD tables.
    df = scenarios.to_frame().sample(300, random_state=0)
    for r in df.itertuples():
        f, s = int(r.finish_position), int(r.start_position)
        dk_fin = (
            45
            if f == 1
            else 44 - f
            if f <= 10
            else 43 - f
            if f <= 20
            else 42 - f
            if f <= 30
            else 41 - f
            if f <= 40
            else 0
        )
        dk = dk_fin + (s - f) + 0.25 * r.laps_led + 0.45 * r.fastest_laps
        fd_fin = {1: 43, 2: 40, 3: 38}.get(f, 41 - f if 4 <= f <= 40 else 0)
        fd = fd_fin + 0.5 * (s - f) + 0.1 * r.laps_completed + 0.1 * r.laps_led
        assert r.dk_points == pytest.approx(dk, abs=1e-3)
        assert r.fd_points == pytest.approx(fd, abs=1e-3)


def test_start_position_fallback(world):
    from nascar_pipeline.core.simulate import resolve_start_positions

    data, entries = world
    e = entries.sort_values("driver_id").reset_index(drop=True).copy()
    e.loc[e.index[:5], "start_position"] = pd.NA
    sp, imputed = resolve_start_positions(e, data.stats)
    assert imputed
    assert sorted(sp.tolist()) == list(range(1, len(e) + 1))
    known = e["start_position"].notna().to_numpy()
    assert np.array_equal(sp[known], e.loc[known, "start_position"].astype(int).to_numpy())
    e["start_position"] = pd.NA
    sp, imputed = resolve_start_positions(e, data.stats)
    assert imputed and sorted(sp.tolist()) == list(range(1, len(e) + 1))


def test_projections_contract(scenarios, world):
    from nascar_pipeline.core.projections import PROJECTION_COLUMNS, driver_projections

    _, entries = world
    proj = driver_projections(scenarios, entries)
    assert list(proj.columns) == list(PROJECTION_COLUMNS)
    assert len(proj) == 22
    assert proj["dk_mean"].is_monotonic_decreasing
    assert proj["win_pct"].sum() == pytest.approx(100.0)
    assert proj["top10_pct"].sum() == pytest.approx(1000.0)
    assert proj["exp_laps_led"].sum() == pytest.approx(250.0)
    assert (proj["dk_p10"] <= proj["dk_median"]).all() and (
        proj["dk_median"] <= proj["dk_p90"]
    ).all()
    row = proj.iloc[0]
    assert row["pts_per_1k"] == pytest.approx(row["dk_mean"] / (row["salary"] / 1000))


def test_convergence_rule():
    from nascar_pipeline.core.model.diagnostics import convergence_check

    good = {"rhat_max": 1.004, "ess_bulk_min": 650.0, "divergence_rate": 0.0}
    assert convergence_check(good) == (True, [])
    for bad in (
        {**good, "rhat_max": 1.02},
        {**good, "ess_bulk_min": 120.0},
        {**good, "divergence_rate": 0.02},
    ):
        ok, reasons = convergence_check(bad)
        assert not ok and reasons


def test_a_broken_down_ess_estimate_is_reported_as_no_effective_draws():
    """Alternating draws make numpyro's autocorrelation estimator return a negative ESS
    (-15 here); the diagnostics report 0 and the gate fails it by its ESS."""
    from numpyro.diagnostics import effective_sample_size

    from nascar_pipeline.core.model.diagnostics import convergence_check, summarize_convergence

    x = np.tile([0.0, 1.0], (2, 4))[:, :, None]  # (chains, draws, drivers)
    assert float(effective_sample_size(x)[0]) < 0
    diag = summarize_convergence({"skill": x}, np.zeros((2, 8), bool), n_drivers=1)
    assert diag["ess_bulk_min"] == 0.0
    assert any(r.startswith("bulk ESS 0 <") for r in convergence_check(diag)[1])


@pytest.mark.slow
def test_unconverged_fit_fails_the_check():
    from nascar_pipeline.core.model import FitConfig, convergence_check, fit_model, prepare_history

    hist, _ = synthetic_history(n_drivers=12, n_races=8, seed=4)
    fit = fit_model(
        prepare_history(hist), FitConfig(num_warmup=5, num_samples=5, num_chains=2, svi_steps=20)
    )
    ok, reasons = convergence_check(fit.diagnostics)
    assert not ok and any("ESS" in r for r in reasons)


def test_history_arrays_and_fit_key():
    from nascar_pipeline.core.model import ModelConfig, history_hash, prepare_history

    hist, _ = synthetic_history(n_drivers=12, n_races=6, seed=5)
    a = prepare_history(hist, target_date="2030-01-01")
    b = prepare_history(hist.sample(frac=1.0, random_state=1), target_date="2031-06-01")
    for k in a.arrays:
        np.testing.assert_array_equal(a.arrays[k], b.arrays[k])
    assert history_hash(hist, ModelConfig()) == history_hash(hist.sample(frac=1.0), ModelConfig())
    assert history_hash(hist.iloc[:-1], ModelConfig()) != history_hash(hist, ModelConfig())
    # Slots are in finishing order, padded with a mask; shapes are bucketed.
    assert a.arrays["drv"].shape == (16, 44)
    assert a.arrays["mask"][:6].sum() == 6 * 12 and a.arrays["mask"][6:].sum() == 0
    assert np.all(a.arrays["w"][6:] == 0) and np.all(a.arrays["w"][:6] > 0)


def test_sparse_dirichlet_multinomial_equals_dense():
    """The model evaluates lgamma only at non-zero counts; the weighted total must equal the dense
    reference over every slot, for laps led and fastest laps of a prepared history."""
    import jax.numpy as jnp

    from nascar_pipeline.core.model import prepare_history
    from nascar_pipeline.core.model.model import (
        dirichlet_multinomial_ll,
        dirichlet_multinomial_weighted,
    )

    hist, _ = synthetic_history(n_drivers=20, n_races=12, seed=3)
    a = prepare_history(hist).arrays
    rng = np.random.default_rng(0)
    for name in ("led", "fast"):
        counts, mask = a[name], a["mask"]
        assert counts.sum() > 0 and (a[f"{name}_on"].sum() == (counts > 0).sum())
        alpha = np.exp(rng.normal(0, 1.5, counts.shape)).astype(np.float32)
        weight = (a["w"] * rng.uniform(0.5, 1.5, a["w"].shape)).astype(np.float32)
        dense = float(jnp.sum(weight * dirichlet_multinomial_ll(counts, alpha, mask)))
        sparse = float(
            dirichlet_multinomial_weighted(
                counts, alpha, mask, a[f"{name}_idx"], a[f"{name}_cnt"], a[f"{name}_on"], weight
            )
        )
        assert sparse == pytest.approx(dense, rel=1e-5)


@pytest.mark.slow  # three fits, each compiling the whole-chain programs afresh (no persistent cache)
def test_repeated_fits_do_not_grow_memory_maps():
    """A long process (the season backtest) fits race after race: the compiled programs of one
    fit must not pile up (each fit used to add ~4,000 memory maps; the kernel's limit is 65,530)."""
    from pathlib import Path

    from nascar_pipeline.core.model import FitConfig, fit_model, prepare_history

    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("needs /proc/self/maps (Linux) to count memory maps")
    hist, _ = synthetic_history(n_drivers=12, n_races=6, seed=4)
    data = prepare_history(hist)
    counts = []
    for seed in range(3):
        fit_model(
            data, FitConfig(num_warmup=10, num_samples=10, num_chains=2, svi_steps=20, seed=seed)
        )
        counts.append(len(maps.read_text().splitlines()))
    assert counts[2] - counts[1] < 1000, counts
