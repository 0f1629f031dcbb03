"""log Gamma and digamma for positive arguments, cheaper than jax.scipy.special's.

The Dirichlet-multinomial likelihoods of laps led and fastest laps evaluate lgamma at every
non-zero count and digamma in the gradient: about 60 % of a gradient's time on the 2022-2025
window (profiled on CPU). jax.scipy.special's versions serve the whole real line (a reflection
branch with sin / tan, evaluated for every element under `where`); every argument there is
positive (a concentration, or a count plus one), so here: shift the argument by 6 with the
recurrence (one log of a product; a sum of reciprocals), then Stirling's series, whose first
omitted term at 6 is below 1e-9. Agrees with jax.scipy.special to float32 rounding (the tests
bound it); not defined at x <= 0.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

_HALF_LOG_2PI = 0.9189385332046727
_SHIFT = 6.0


def _shifted(x):
    """(x + 6, x (x + 1) ... (x + 5))."""
    p = x * (x + 1.0) * (x + 2.0) * (x + 3.0) * (x + 4.0) * (x + 5.0)
    return x + _SHIFT, p


@jax.custom_jvp
def lgamma_pos(x):
    """log Gamma(x) for x > 0."""
    z, p = _shifted(x)
    r = 1.0 / z
    r2 = r * r
    series = r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0)))
    # Above ~1e6 the product overflows float32: there the shift is not needed at all.
    big = x > 1e5
    z = jnp.where(big, x, z)
    r = jnp.where(big, 1.0 / x, r)
    stirling = (z - 0.5) * jnp.log(z) - z + _HALF_LOG_2PI
    stirling = stirling + jnp.where(big, r / 12.0, series)
    return stirling - jnp.where(big, 0.0, jnp.log(jnp.where(big, 1.0, p)))


def digamma_pos(x):
    """digamma(x) = d/dx log Gamma(x), for x > 0."""
    z = x + _SHIFT
    r = 1.0 / z
    r2 = r * r
    series = jnp.log(z) - 0.5 * r - r2 * (1.0 / 12.0 - r2 * (1.0 / 120.0 - r2 * (1.0 / 252.0)))
    recur = (
        1.0 / x + 1.0 / (x + 1.0) + 1.0 / (x + 2.0) + 1.0 / (x + 3.0) + 1.0 / (x + 4.0)
    ) + 1.0 / (x + 5.0)
    return series - recur


@lgamma_pos.defjvp
def _lgamma_pos_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return lgamma_pos(x), digamma_pos(x) * dx
