"""The race's generative story: one definition, the same numbers under NumPy and JAX."""

from __future__ import annotations

import numpy as np

from nascar_pipeline.core import race_story as story


def test_finish_positions_are_a_gumbel_max_permutation():
    rng = np.random.default_rng(0)
    util = rng.normal(size=(500, 12))
    finish = story.finish_positions(util, rng.gumbel(size=util.shape))
    assert (np.sort(finish, axis=1) == np.arange(1, 13)).all()
    # The best utility wins most often (Plackett-Luce), never always.
    best = util.argmax(axis=1)
    won = finish[np.arange(len(util)), best] == 1
    assert 0.2 < won.mean() < 1.0


def test_a_large_dnf_penalty_puts_every_dnf_behind_the_running_cars():
    rng = np.random.default_rng(1)
    perf = rng.normal(size=20)
    dnf = np.arange(20) % 4 == 0
    finish = story.finish_positions(story.order_utility(perf, dnf, -1e6), rng.gumbel(size=20))
    assert finish[dnf].min() > finish[~dnf].max()


def test_numpy_and_jax_tell_the_same_story():
    import jax.numpy as jnp

    rng = np.random.default_rng(2)
    perf, share, u, g = (
        rng.normal(size=30),
        rng.uniform(0, 1, 30),
        rng.random(30),
        rng.gumbel(size=30),
    )
    logit = story.dnf_logit(-2.0, 0.3, perf, -0.2, perf)
    dnf = story.draw_dnf(logit, u)
    assert (np.asarray(story.draw_dnf(jnp.asarray(logit), jnp.asarray(u), jnp)) == dnf).all()
    f_np = story.finish_positions(story.order_utility(perf, dnf, -3.0), g)
    f_jx = story.finish_positions(jnp.asarray(story.order_utility(perf, dnf, -3.0)), g, jnp)
    assert (np.asarray(f_jx) == f_np).all()
    la = story.lap_share_log_concentration(-2.0, 1.5, perf, share)
    la_jx = story.lap_share_log_concentration(-2.0, 1.5, jnp.asarray(perf), share, xp=jnp)
    np.testing.assert_allclose(np.asarray(la_jx), la, rtol=1e-6)
    # A car that barely ran still has a positive concentration (the share is floored).
    assert (story.concentration(story.lap_share_log_concentration(0.0, 1.0, perf, 0.0)) > 0).all()
