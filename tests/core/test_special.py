"""core/model/special.py's log Gamma and digamma agree with scipy's to float32 rounding over the
range the Dirichlet-multinomial likelihoods use (concentrations exp(+-12), counts up to a few
hundred laps), and the gradient of lgamma_pos is digamma_pos."""

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special as ss

from nascar_pipeline.core.model.special import digamma_pos, lgamma_pos

X = np.concatenate([np.geomspace(np.exp(-12.0), 2e5, 4000), np.linspace(0.01, 700.0, 4000)])
X32 = jnp.asarray(X, jnp.float32)
X64 = np.asarray(X32, np.float64)  # the float32 points themselves


def _error(values, reference):
    """Absolute error below 1, relative above (float32 carries ~7 significant digits)."""
    values = np.asarray(values, np.float64)
    return np.max(np.abs(values - reference) / np.maximum(1.0, np.abs(reference)))


def test_lgamma_matches_scipy_to_float32_rounding():
    assert _error(jax.jit(lgamma_pos)(X32), ss.gammaln(X64)) < 1e-5
    # no worse than jax.scipy.special's own float32 lgamma, which it replaces
    ours = _error(lgamma_pos(X32), ss.gammaln(X64))
    theirs = _error(jax.scipy.special.gammaln(X32), ss.gammaln(X64))
    assert ours < 3 * theirs + 1e-6


def test_digamma_matches_scipy_and_is_the_gradient():
    assert _error(jax.jit(digamma_pos)(X32), ss.digamma(X64)) < 1e-5
    grad = jax.grad(lambda x: jnp.sum(lgamma_pos(x)))(X32)
    np.testing.assert_array_equal(np.asarray(grad), np.asarray(digamma_pos(X32)))


def test_dirichlet_multinomial_terms_unchanged():
    """The likelihood's per-slot difference lgamma(n + a) - lgamma(a), at counts of laps."""
    rng = np.random.default_rng(0)
    a = np.exp(rng.uniform(-12, 12, 5000)).astype(np.float32)
    n = rng.integers(1, 500, 5000).astype(np.float32)
    ours = np.asarray(lgamma_pos(jnp.asarray(n + a)) - lgamma_pos(jnp.asarray(a)), np.float64)
    exact = ss.gammaln(np.float64(n) + np.float64(a)) - ss.gammaln(np.float64(a))
    xla = np.asarray(
        jax.scipy.special.gammaln(jnp.asarray(n + a)) - jax.scipy.special.gammaln(jnp.asarray(a)),
        np.float64,
    )
    assert _error(ours, exact) <= 2 * _error(xla, exact) + 1e-6
