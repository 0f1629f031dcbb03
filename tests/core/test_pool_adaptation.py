"""core/model/chains.pool_adaptation: after warm-up every chain samples with one kernel, the
mean of the chains' diagonal inverse mass matrices and the median of their step sizes (a chain
whose own step size fell just under a tree-depth threshold no longer takes twice the steps)."""

from collections import namedtuple

import numpy as np

from nascar_pipeline.core.model.chains import pool_adaptation

Adapt = namedtuple(
    "Adapt", ["step_size", "inverse_mass_matrix", "mass_matrix_sqrt", "mass_matrix_sqrt_inv", "x"]
)
State = namedtuple("State", ["z", "adapt_state"])
SITES = ("skill_z", "sigma_skill")


def _states(steps, inverse):
    inverse = np.asarray(inverse, np.float32)
    adapt = Adapt(
        step_size=np.asarray(steps, np.float32),
        inverse_mass_matrix={SITES: inverse},
        mass_matrix_sqrt={SITES: 1 / np.sqrt(inverse)},
        mass_matrix_sqrt_inv={SITES: np.sqrt(inverse)},
        x="untouched",
    )
    return State(z=np.arange(4.0), adapt_state=adapt)


def test_chains_share_the_pooled_mass_matrix_and_the_median_step():
    inverse = [[1.0, 4.0], [3.0, 4.0], [1.0, 2.0], [3.0, 2.0]]
    out = pool_adaptation(_states([0.15, 0.14, 0.14, 0.098], inverse))
    ad = out.adapt_state
    np.testing.assert_allclose(ad.step_size, [0.14] * 4, rtol=1e-6)
    np.testing.assert_allclose(ad.inverse_mass_matrix[SITES], [[2.0, 3.0]] * 4)
    np.testing.assert_allclose(ad.mass_matrix_sqrt_inv[SITES], np.sqrt([[2.0, 3.0]] * 4))
    np.testing.assert_allclose(ad.mass_matrix_sqrt[SITES], 1 / np.sqrt([[2.0, 3.0]] * 4))
    assert ad.step_size.dtype == np.float32 and ad.inverse_mass_matrix[SITES].dtype == np.float32
    assert ad.x == "untouched" and out.z is not None


def test_one_chain_is_left_alone():
    states = _states([0.2], [[1.0, 2.0]])
    assert pool_adaptation(states) is states
