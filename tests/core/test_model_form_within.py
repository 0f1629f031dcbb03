"""Form as each driver's deviation from his own mean over the window
(ModelConfig.form_within_driver, core/model/form.py)."""

import numpy as np

from nascar_pipeline.core.model import ModelConfig, prepare_history
from tests.support.synthetic_history import synthetic_history


def test_each_driver_s_form_is_centred_on_his_weighted_mean_and_so_is_his_next_form():
    hist, _ = synthetic_history(n_drivers=6, n_races=6, seed=3)
    plain = prepare_history(hist, ModelConfig(form=True))
    within = prepare_history(hist, ModelConfig(form=True, form_within_driver=True))
    a = within.arrays
    w = (a["mask"] > 0) * a["w"][:, None]
    for i, d in enumerate(within.driver_ids):
        mine = (a["drv"] == i) & (w > 0)
        mean = np.average(within.arrays["form"][mine], axis=0, weights=w[mine])
        np.testing.assert_allclose(mean, 0.0, atol=1e-5)
        level = np.average(plain.arrays["form"][mine], axis=0, weights=w[mine])
        # the same shift, by the same driver level, in his form for the next race
        for t, rows in within.stats["form_now"].items():
            np.testing.assert_allclose(
                rows[int(d)], np.asarray(plain.stats["form_now"][t][int(d)]) - level, atol=1e-5
            )
    assert (within.arrays["form"][a["mask"] == 0] == 0).all()  # padding stays 0
    assert "form_within_driver" not in ModelConfig(form=True).as_dict()
    assert ModelConfig(form_within_driver=True).as_dict()["form_within_driver"] is True
