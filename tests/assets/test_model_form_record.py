"""race_model_fit keeps the entries' latest form (from its own read of the loop rows) for
race_scenarios: written atomically per race, driver ids back as ints, and a form posterior
without it is a clear error, not scenarios without form."""

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.assets.model import _load_fit_for, read_form, record_form
from nascar_pipeline.core.model import ModelConfig, prepare_history
from nascar_pipeline.resources.storage import StorageResource
from tests.support.synthetic_history import synthetic_history


def test_form_round_trips_with_integer_driver_ids_for_its_fit_only(tmp_path):
    storage = StorageResource(root=str(tmp_path))
    hist, _ = synthetic_history(n_drivers=5, n_races=3, seed=1)
    data = prepare_history(hist, ModelConfig(form=True))
    record_form(storage, "race-a", "fit-1", data.stats["form_now"])
    back = read_form(storage, "race-a", "fit-1")
    assert back == data.stats["form_now"]
    assert all(isinstance(d, int) for rows in back.values() for d in rows)
    assert read_form(storage, "race-b", "fit-1") is None  # another race
    assert read_form(storage, "race-a", "fit-2") is None  # another fit of the race
    record_form(storage, "race-a", "fit-3", None)  # re-fitted without form: replaced
    assert read_form(storage, "race-a", "fit-1") is None
    assert read_form(storage, "race-a", "fit-3") is None


def test_a_form_posterior_without_the_kept_form_is_a_clear_error(tmp_path):
    storage = StorageResource(root=str(tmp_path))
    hist, _ = synthetic_history(n_drivers=5, n_races=3, seed=1)
    cache = storage.fit_cache()
    post = {"form_beta": np.zeros((1, 4, 5), np.float32), "skill": np.zeros((1, 4, 8))}
    cache.save("k1", post, {"rhat_max": 1.0})
    snapshot = pd.concat(
        [hist.assign(role="history"), hist.tail(5).assign(role="entry", race_date="2030-01-01")]
    )
    fit = pd.DataFrame({"fit_key": ["k1"]})
    with pytest.raises(FileNotFoundError, match="kept no form for race race-x"):
        _load_fit_for(storage, fit, snapshot, "race-x")
