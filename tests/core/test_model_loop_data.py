"""Loop data in the race model (ModelConfig.loop_data, core/model/loop_data.py): the arrays
(normal scores in the history's slots, masks for races without loop data, lower-series starts
padded to a bucket), the flag off leaves the data and the fit-cache key as they were, and one
slow fit recovers skills and the measurement's slope with the newest races lacking loop data."""

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core.model import ModelConfig, prepare_history
from nascar_pipeline.core.model.loop_data import LOOP_ARRAYS, loop_digest, normal_scores
from nascar_pipeline.core.tables import conform
from tests.support.synthetic_history import synthetic_history

WIDE = dict(half_life_days=1e9, history_days=100_000)


def _loop_rows(hist: pd.DataFrame, races: list[str], y: np.ndarray | None = None) -> pd.DataFrame:
    """Cup loop rows for `races` of a synthetic history: the average running position is the
    finishing position (or, with `y`, the rank of -y within the race)."""
    g = hist[hist["race_key"].isin(races)].copy()
    arp = g["finish_position"].astype(float) if y is None else -y[g.index]
    return conform(
        "loop_stats",
        g.assign(series="cup", start_of_day=1, avg_running_position=arp)[
            ["series", "race_key", "race_id", "race_date", "track_name", "driver_id",
             "start_of_day", "avg_running_position"]
        ],
    )  # fmt: skip


def _lower_series(driver_ids, y, date: str) -> pd.DataFrame:
    """One Xfinity race of `driver_ids` on `date`, running positions ranked by `y`."""
    return conform(
        "loop_stats",
        pd.DataFrame({"driver_id": list(driver_ids), "avg_running_position": -np.asarray(y)})
        .assign(series="xfinity", race_date=date, track_name="Track X", start_of_day=1),
    )  # fmt: skip


def test_normal_scores_rank_within_each_race():
    v = pd.Series([1.0, 2.0, 3.0, 5.0, 5.0])
    z = normal_scores(v, pd.Series(["a", "a", "a", "b", "b"]))
    assert z[0] > 0 > z[2] and z[1] == pytest.approx(0.0)
    assert z[3] == z[4] == pytest.approx(0.0)  # ties share their rank


def test_flag_off_leaves_data_and_cache_key_as_before():
    hist, _ = synthetic_history(n_drivers=8, n_races=6, seed=2)
    loop = _loop_rows(hist, list(hist["race_key"].unique()))
    plain = prepare_history(hist, ModelConfig())
    with_rows = prepare_history(hist, ModelConfig(), loop=loop)
    assert set(plain.arrays) == set(with_rows.arrays)
    assert not set(LOOP_ARRAYS) & set(plain.arrays)
    for k, v in plain.arrays.items():
        np.testing.assert_array_equal(v, with_rows.arrays[k])
    assert "loop_data" not in ModelConfig().as_dict()
    assert ModelConfig(loop_data=True).as_dict()["loop_data"] is True


def test_arrays_mask_races_without_loop_data_and_keep_shapes():
    hist, _ = synthetic_history(n_drivers=8, n_races=6, seed=2)
    keys = list(dict.fromkeys(hist.sort_values("race_date")["race_key"]))
    loop = _loop_rows(hist, keys[:4])  # the two newest races have none
    ext = _lower_series(hist["driver_id"].unique(), np.arange(8.0), "2024-02-10")
    cfg = ModelConfig(loop_data=True, **WIDE)
    data = prepare_history(hist, cfg, loop=pd.concat([loop, ext]))
    a = data.arrays
    assert a["loop_on"].shape == a["mask"].shape
    assert a["loop_on"][:4].sum() == 4 * 8 and a["loop_on"][4:].sum() == 0
    # slots are in finishing order and the running position is the finish here: scores fall
    assert np.all(np.diff(a["loop_y"][0, :8]) < 0)
    assert (a["ext_w"] > 0).sum() == 8 and len(a["ext_w"]) >= 256
    assert set(a["ext_series"][:8]) == {1}
    none = prepare_history(hist, cfg)  # no loop data at all: same shapes, all masked
    assert {k: v.shape for k, v in none.arrays.items()} == {k: v.shape for k, v in a.items()}
    assert none.arrays["loop_on"].sum() == 0 and none.arrays["ext_w"].sum() == 0
    assert loop_digest(loop) != loop_digest(loop.head(3)) and loop_digest(None) == loop_digest(
        loop.head(0)
    )


@pytest.mark.slow
def test_recovery_with_loop_data_missing_for_the_newest_races():
    """Synthetic world, running positions drawn from the measurement model (y = perf centred
    in the race + N(0, 0.5), perf = skill - 0.8 * start as the synthetic world draws it; the
    track effect, sd 0.2, is extra noise), the newest 8 of 32 races without loop data, one
    Xfinity race of every driver against 20 weaker ones (a positive series offset): skills,
    the slope and the offset's sign are recovered."""
    from nascar_pipeline.core.model import FitConfig, fit_model

    rng = np.random.default_rng(5)
    hist, truth = synthetic_history(n_drivers=20, n_races=32, seed=1)
    hist["car_number"] = "1"
    skill = dict(zip(truth["driver_ids"], truth["skill"]))
    s = (hist["start_position"] - 1) / 39.0 - 0.5
    perf = hist["driver_id"].map(skill) - 0.8 * s
    perf_c = perf - perf.groupby(hist["race_key"]).transform("mean")
    y = (perf_c + rng.normal(0.0, 0.5, len(hist))).to_numpy()
    keys = list(dict.fromkeys(hist.sort_values("race_date")["race_key"]))
    drivers = list(truth["driver_ids"]) + list(range(900, 920))  # 20 Xfinity regulars
    y_ext = np.concatenate([truth["skill"], rng.normal(-1.5, 1.0, 20)])
    y_ext = y_ext + rng.normal(0.0, 0.7, len(y_ext))
    ext = _lower_series(drivers, y_ext, "2024-03-02")
    loop = pd.concat([_loop_rows(hist, keys[:24], y), ext])
    data = prepare_history(hist, ModelConfig(loop_data=True, **WIDE), loop=loop)
    assert data.arrays["loop_on"].sum() == 24 * 20
    fit = fit_model(data, FitConfig(num_warmup=200, num_samples=200, num_chains=2, seed=3))
    post = fit.flat()
    idx = [data.driver_index()[int(d)] for d in truth["driver_ids"]]
    draws = post["skill"][:, idx]
    draws = draws - draws.mean(axis=1, keepdims=True)
    lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
    covered = ((truth["skill"] >= lo) & (truth["skill"] <= hi)).mean()
    corr = np.corrcoef(draws.mean(axis=0), truth["skill"])[0, 1]
    print(
        f"loop recovery: skill corr {corr:.3f}, 90% coverage {covered:.2f}, loop_b "
        f"{post['loop_b'].mean():.2f} (truth ~1), sigma_loop {post['sigma_loop'].mean():.2f} "
        f"(truth ~0.5), ext_a[xfinity] {post['ext_a'][:, 1].mean():.2f} (> 0), R-hat "
        f"{fit.diagnostics['rhat_max']:.3f}"
    )
    assert corr > 0.85 and covered >= 0.85
    assert 0.5 < post["loop_b"].mean() < 2.0  # the fitted skills are shrunk: b above 1
    assert 0.25 < post["sigma_loop"].mean() < 0.9
    assert post["ext_a"][:, 1].mean() > 0.2


def _trace(hist, cfg, loop=None):
    from numpyro import handlers

    from nascar_pipeline.core.model.model import race_model

    data = prepare_history(hist, cfg, loop=loop)
    with handlers.seed(rng_seed=0):
        return data, handlers.trace(race_model).get_trace(**data.model_kwargs())


def test_loop_terms_leave_the_plain_model_as_it_was():
    """Without loop arrays: the plain model's sites and priors. With them: the slope sampled
    per skill sd (loop_b follows), sigma_track ~ Gamma(2, 20), and the track effects are
    contrasts around each driver's start-weighted mean over track types."""
    from nascar_pipeline.core.model.model import WITHIN_UNIFORM

    hist, _ = synthetic_history(n_drivers=8, n_races=6, seed=2)
    loop = _loop_rows(hist, list(hist["race_key"].unique()))
    _, off = _trace(hist, ModelConfig())
    data, on = _trace(hist, ModelConfig(loop_data=True, **WIDE), loop)
    assert not {"loop_scale", "loop_b"} & set(off)
    assert type(off["sigma_track"]["fn"]).__name__ == "HalfNormal"
    assert type(on["sigma_track"]["fn"]).__name__ == "Gamma"
    assert on["loop_scale"]["type"] == "sample" and on["loop_b"]["type"] == "deterministic"
    a = data.arrays
    track = np.asarray(on["skill_track"]["value"])[: data.n_drivers]
    starts = np.zeros(track.shape)
    types = np.broadcast_to(a["tt"][:, None], a["drv"].shape)
    np.add.at(starts, (a["drv"], types), a["mask"] * a["w"][:, None])
    share = starts[: data.n_drivers] / starts[: data.n_drivers].sum(axis=1, keepdims=True)
    share = (1 - WITHIN_UNIFORM) * share + WITHIN_UNIFORM / track.shape[1]
    np.testing.assert_allclose((share * track).sum(axis=1), 0.0, atol=1e-5)
    plain = np.asarray(off["skill_track"]["value"])
    assert np.abs(plain.sum(axis=1)).max() > 1e-3  # the plain model: free track effects
