"""Chains in parallel over host devices, and bucketed shapes reused by the compilation cache
(issue 14). The fits run in one fresh process (tests/core/model_chain_runs.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    cache = tmp_path_factory.mktemp("jax-cache")
    out = subprocess.run(
        [sys.executable, "-m", "tests.core.model_chain_runs", str(cache)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    assert out.returncode == 0 and lines, out.stdout[-3000:] + out.stderr[-3000:]
    return json.loads(lines[0][len("RESULT ") :])


@pytest.mark.slow
def test_second_race_of_a_season_compiles_nothing_new(runs):
    first, second, _ = runs["fits"]
    assert first["races"] != second["races"]  # different history windows ...
    assert first["shapes"] == second["shapes"]  # ... in one shape bucket
    assert first["new_compiles"] > 0  # the cache was cold and counting works
    assert second["new_compiles"] == 0, second
    # Whole programs: a fit loads a few dozen executables, not hundreds of small ones.
    assert second["programs"] < 60, second["programs"]


@pytest.mark.slow
def test_parallel_chains_match_sequential_chains(runs):
    """Same seed, same data: the parallel and sequential fits are equal in distribution (posterior
    means within Monte-Carlo error; chain i gets the same keys either way, so they agree much
    more closely in practice)."""
    assert runs["configured"]["host_devices"] == 2
    _, parallel, sequential = runs["fits"]
    assert parallel["chain_method"] == "parallel" and parallel["devices"] == 2
    assert sequential["chain_method"] == "sequential" and sequential["devices"] == 1
    for site, p in parallel["summary"].items():
        s = sequential["summary"][site]
        diff = np.abs(np.subtract(p["mean"], s["mean"]))
        tol = 4.0 * np.hypot(p["mcse"], s["mcse"]) + 1e-6
        assert np.all(diff <= tol), (site, diff, tol)


@pytest.mark.slow
def test_fit_reports_stage_timings(runs):
    timings = runs["fits"][1]["timings"]
    for stage in ("compile", "svi", "warmup", "sampling", "diagnostics", "total"):
        assert timings[f"{stage}_s"] >= 0.0, stage
    assert timings["chains_parallel"] == 1.0 and timings["devices"] == 2.0
    assert timings["total_s"] >= timings["warmup_s"] + timings["sampling_s"]


def test_consecutive_real_races_share_shapes(shared_data):
    """Every 2025 race's history window (the production ModelConfig) falls in one shape bucket."""
    from nascar_pipeline.core.backtest import history_from_tables
    from nascar_pipeline.core.model import ModelConfig, prepare_history
    from nascar_pipeline.ontology.parsers.history import parse_history

    h = history_from_tables(
        parse_history(
            shared_data / "history" / "races.csv", shared_data / "history" / "results.csv"
        )
    )
    dates = sorted(d for d in h["race_date"].astype(str).unique() if d.startswith("2025"))
    shapes = set()
    for d in dates[::4]:
        data = prepare_history(h, ModelConfig(), target_date=d)
        shapes.add(tuple(sorted((k, v.shape) for k, v in data.arrays.items())))
    assert len(shapes) == 1, shapes


def test_shape_buckets():
    from nascar_pipeline.core.model.data import shape_bucket

    assert [shape_bucket(n, 16) for n in (1, 16, 17, 25, 110, 116, 129)] == [
        16,
        16,
        24,
        32,
        128,
        128,
        192,
    ]
    assert shape_bucket(97, 16, fine=False) == 128
    # Races: multiples of 32 above 64 (production window ~115 -> 128, four seasons -> 160).
    assert [shape_bucket(n, 16, step=32) for n in (12, 40, 64, 65, 110, 116, 141)] == [
        16,
        48,
        64,
        96,
        128,
        128,
        160,
    ]
    for n in range(1, 5000, 7):
        b = shape_bucket(n, 16)
        assert n <= b <= max(16, 1.5 * n)


def test_chain_method_choice():
    from nascar_pipeline.core.model.chains import choose_chain_method

    with pytest.raises(ValueError, match="chain_method"):
        choose_chain_method("threads", 4)
    method, devices, why = choose_chain_method("sequential", 4)
    assert (method, devices) == ("sequential", 1)
    method, devices, why = choose_chain_method("parallel", 1)
    assert (method, devices) == ("sequential", 1) and why == "one chain"


def test_gpu_fit_runs_vectorized_chains_on_the_device():
    import jax

    if jax.default_backend() != "gpu":
        pytest.skip("needs a CUDA GPU with jax[cuda] installed; none is present")
    from nascar_pipeline.core.model import FitConfig, fit_model, prepare_history
    from tests.support.synthetic_history import synthetic_history

    hist, _ = synthetic_history(n_drivers=12, n_races=6, seed=4)
    fit = fit_model(
        prepare_history(hist), FitConfig(num_warmup=20, num_samples=20, num_chains=4, svi_steps=20)
    )
    assert fit.chain_method == "vectorized"
    assert fit.posterior["skill"].shape[:2] == (4, 20)
