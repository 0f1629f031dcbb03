"""A real payout table on a simulated contest of another size keeps an entry's expected payout."""

import numpy as np
import pytest

from nascar_pipeline.core.payout_scaling import rescaled_prizes


def test_same_size_is_the_real_table():
    p = np.array([100.0, 50, 20, 20, 10])
    assert np.allclose(rescaled_prizes(p, 10, 10), [100, 50, 20, 20, 10, 0, 0, 0, 0, 0])


def test_a_smaller_simulation_pays_proportionally_fewer_places():
    # 34,482 real entries, 8,000 paid: a 10,150-entry simulation must pay about 2,355 places,
    # not 8,000 (which would be 79 % of the simulated field cashing)
    p = np.r_[30000.0, np.full(7999, 15.0)]
    q = rescaled_prizes(p, 34_482, 10_150)
    assert (q > 0).sum() == pytest.approx(8000 * 10_150 / 34_482, abs=1)
    # the pool scales with the entries, so the mean payout per entry (and the ROI) is the same
    assert q.sum() / 10_150 == pytest.approx(p.sum() / 34_482, rel=1e-9)
    assert np.all(np.diff(q) <= 0)


def test_a_larger_simulation_spreads_each_place():
    p = np.array([100.0, 50, 20, 10])
    q = rescaled_prizes(p, 4, 8)
    assert np.allclose(q, [100, 100, 50, 50, 20, 20, 10, 10])
    assert q.sum() / 8 == pytest.approx(p.sum() / 4)


def test_fractional_places_integrate_the_step_function():
    p = np.array([90.0, 30, 30])
    q = rescaled_prizes(p, 3, 2)  # each simulated place covers 1.5 real places
    assert np.allclose(q, [(90 + 15) / 1.5, (15 + 30) / 1.5])


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="at least 1"):
        rescaled_prizes([1.0], 0, 5)
