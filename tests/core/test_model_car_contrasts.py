"""Car effects as contrasts within the driver-car groups (ModelConfig.car_contrasts)."""

import numpy as np
import pandas as pd

from nascar_pipeline.core.model import ModelConfig, prepare_history
from nascar_pipeline.core.model.data import car_groups
from nascar_pipeline.core.model.model import WITHIN_UNIFORM, _within_group


def test_groups_follow_the_starts_that_link_drivers_and_cars():
    # driver 0 drove cars 0 and 1; drivers 1 and 2 shared car 2, driver 2 also drove car 3;
    # car 4 appears only in a masked (padding) slot.
    drv = np.array([[0, 1, 2], [0, 2, 0]])
    car = np.array([[0, 2, 2], [1, 3, 4]])
    mask = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    w = np.array([1.0, 0.5])
    group, weight = car_groups(drv, car, mask, w, n_drivers=3, n_cars=5, n_cars_padded=8)
    assert group.tolist()[:4] == [0, 0, 2, 2]
    assert group[4] == 4  # no unmasked start: a group of its own
    assert group.tolist()[5:] == [5, 6, 7]  # padding cars: groups of their own
    assert weight.tolist()[:5] == [1.0, 0.5, 2.0, 0.5, 0.0]
    assert weight.tolist()[5:] == [1.0, 1.0, 1.0]


def test_contrasts_leave_each_group_only_the_leak_of_its_level():
    rng = np.random.default_rng(0)
    effect = rng.normal(size=6).astype(np.float32)
    group = np.array([0, 0, 0, 3, 3, 5], np.int32)
    weight = np.array([1.0, 2.0, 0.5, 1.0, 1.0, 1.0], np.float32)
    out = np.asarray(_within_group(effect, group, weight))
    for g in (0, 3, 5):
        m = group == g
        before = np.average(effect[m], weights=weight[m])
        after = np.average(out[m], weights=weight[m])
        assert np.isclose(after, WITHIN_UNIFORM * before, atol=1e-6)
    # differences between cars of one group (what the results identify) are kept
    assert np.isclose(out[0] - out[1], effect[0] - effect[1], atol=1e-6)


def _history():
    rows = []
    for r, date in enumerate(["2024-03-01", "2024-03-08", "2024-03-15"]):
        for d in range(4):
            rows.append(
                dict(
                    race_key=f"r{r}",
                    race_date=date,
                    track_type="intermediate",
                    track_name="T",
                    laps=200,
                    driver_id=d + 1,
                    driver_name=f"D{d}",
                    car_number=str(d + 10),
                    start_position=d + 1,
                    finish_position=((d + r) % 4) + 1,
                    laps_completed=200,
                    laps_led=50,
                    fastest_laps=10,
                    status="running",
                )
            )
    return pd.DataFrame(rows)


def test_the_flag_adds_the_arrays_and_enters_the_fit_key_only_when_on():
    off = prepare_history(_history(), ModelConfig())
    on = prepare_history(_history(), ModelConfig(car_contrasts=True))
    assert "car_group" not in off.arrays
    assert on.arrays["car_group"].shape == (on.n_cars_padded,)
    # each driver kept one car: four groups of one car each
    assert on.arrays["car_group"][:4].tolist() == [0, 1, 2, 3]
    assert "car_contrasts" not in ModelConfig().as_dict()
    assert ModelConfig(car_contrasts=True).as_dict()["car_contrasts"] is True


def test_the_model_applies_the_contrasts_to_the_car_effects_it_reports():
    """prepare_history -> race_model: car_effect is the raw effect minus 0.9 x its group's
    weighted mean (a shared car links two drivers into one group here)."""
    import jax.numpy as jnp
    from numpyro import handlers

    from nascar_pipeline.core.model.fit import bound_model

    hist = _history()
    hist.loc[(hist["race_key"] == "r2") & (hist["driver_id"] == 2), "car_number"] = "10"
    data = prepare_history(hist, ModelConfig(car_contrasts=True))
    kwargs = {k: jnp.asarray(v) for k, v in data.arrays.items()}
    trace = handlers.trace(handlers.seed(bound_model(data), 0)).get_trace(**kwargs)
    sigma = float(trace["sigma_car"]["value"])
    raw = sigma * np.asarray(trace["car_z"]["value"])
    car = np.asarray(trace["car_effect"]["value"])
    group, weight = data.arrays["car_group"], data.arrays["car_weight"]
    assert len(set(group[: len(data.car_numbers)].tolist())) < len(data.car_numbers)
    for g in set(group.tolist()):
        m = group == g
        np.testing.assert_allclose(
            np.average(car[m], weights=weight[m]),
            WITHIN_UNIFORM * np.average(raw[m], weights=weight[m]),
            atol=1e-5,
        )
