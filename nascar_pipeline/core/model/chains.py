"""NUTS chains as two whole compiled programs, warm-up and sampling, mapped over the chains.

Each program runs numpyro's MCMC for one chain inside a JAX trace, so the sampler's set-up
(initial point, step-size search, adaptation state: several hundred small op-by-op programs
when numpyro runs it eagerly) is part of one program, and the data, initial points and inverse
mass matrix are arguments, never constants: the programs depend only on the (bucketed) shapes
and come from the persistent compilation cache for every race of a season.

The same one-chain function is mapped three ways (`CHAIN_METHODS`):
- "parallel": `jax.pmap` over host devices (CPU cores, see core/jax_setup.py), each device
  running its share of the chains one after another (`lax.map`): 4 chains on 2 cores = 2 x 2;
- "sequential": `lax.map` over all chains on one device;
- "vectorized": `vmap` (chains in lock-step; the choice on a GPU, where one device is wide).
Chain i gets the same keys and initial point whichever way it is mapped, so the methods draw
the same chains up to floating-point reassociation. Between the two programs the chains' adapted
kernels are pooled into one (`pool_adaptation`: FitConfig.pool_adaptation).
"""

from __future__ import annotations

import logging
from functools import partial

import jax
import numpy as np
from numpyro.infer import MCMC, NUTS

from nascar_pipeline.core.jax_setup import host_devices_reason

log = logging.getLogger(__name__)

CHAIN_METHODS = ("auto", "parallel", "sequential", "vectorized")
EXTRA_FIELDS = ("diverging", "num_steps")


def choose_chain_method(requested: str, num_chains: int) -> tuple[str, int, str]:
    """(method, devices, why) for `requested` ("auto": vectorized on an accelerator, else
    parallel over the host devices; parallel falls back to sequential with one device)."""
    if requested not in CHAIN_METHODS:
        raise ValueError(f"chain_method {requested!r}: expected one of {CHAIN_METHODS}")
    backend = jax.default_backend()
    if requested == "auto":
        if backend != "cpu":
            return "vectorized", 1, f"{backend}: chains vectorized on one device"
        requested = "parallel"
    if requested != "parallel":
        return requested, 1, f"{requested} as asked"
    if num_chains == 1:
        return "sequential", 1, "one chain"
    n_local = jax.local_device_count()
    devices = max(d for d in range(1, min(n_local, num_chains) + 1) if num_chains % d == 0)
    if devices == 1:
        why = host_devices_reason() or f"{n_local} device(s) for {num_chains} chains"
        log.info("chains run sequentially: %s", why)
        return "sequential", 1, why
    return "parallel", devices, f"{num_chains} chains on {devices} {backend} devices"


def _mcmc(model, cfg, inv_mass):
    kernel = NUTS(
        model,
        inverse_mass_matrix=inv_mass,
        target_accept_prob=cfg.target_accept,
        max_tree_depth=cfg.max_tree_depth,
    )
    return MCMC(
        kernel,
        num_warmup=cfg.num_warmup,
        num_samples=cfg.num_samples,
        num_chains=1,
        progress_bar=False,
        jit_model_args=True,
    )


def _warmup_one(model, cfg, key, init_params, inv_mass, kwargs):
    """One chain's warm-up: its post-warm-up state (adapted step size and mass matrix)."""
    mcmc = _mcmc(model, cfg, inv_mass)
    mcmc.warmup(key, init_params=init_params, **kwargs)
    return mcmc.post_warmup_state


def _sample_one(model, cfg, key, state, kwargs):
    """One chain's draws from its post-warm-up state: (samples by site, extra fields)."""
    mcmc = _mcmc(model, cfg, None)  # the mass matrix in use is the adapted one in `state`
    mcmc.post_warmup_state = state
    mcmc.run(key, extra_fields=EXTRA_FIELDS, **kwargs)
    return mcmc.get_samples(), mcmc.get_extra_fields()


def _mapped(one, method: str, devices: int, n_shared: int):
    """`one(key, x, *shared)` over chains: keys and x carry a leading chain axis; returns a
    function of the same arguments whose outputs carry it too."""

    def per_device(keys, xs, *shared):
        return jax.lax.map(lambda a: one(a[0], a[1], *shared), (keys, xs))

    if method == "vectorized":
        return jax.jit(jax.vmap(one, in_axes=(0, 0) + (None,) * n_shared))
    if method == "sequential":
        return jax.jit(per_device)
    pmapped = jax.pmap(per_device, in_axes=(0, 0) + (None,) * n_shared)

    def run(keys, xs, *shared):
        split = partial(_split_chains, devices=devices)
        out = pmapped(split(keys), jax.tree.map(split, xs), *shared)
        return jax.tree.map(_join_chains, out)

    return run


# On the host (numpy): a reshape of a device array would be one more small program to load.
def _split_chains(x, devices):
    x = np.asarray(x)
    return x.reshape((devices, x.shape[0] // devices) + x.shape[1:])


def _join_chains(x):
    x = np.asarray(x)
    return x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:])


def warmup_chains(model, cfg, method, devices, keys, init_params, inv_mass, kwargs):
    """Post-warm-up states of all chains (leading axis: chain)."""
    fn = _mapped(partial(_warmup_one, model, cfg), method, devices, 2)
    return fn(keys, init_params, inv_mass, kwargs)


def pool_adaptation(states):
    """The chains' post-warm-up states with one shared kernel: the mean of their adapted
    (diagonal) inverse mass matrices and the median of their step sizes.

    Each chain's warm-up estimates the posterior variances from its own last window (~200 draws
    for ~900 coordinates): noisy, and a chain whose step size lands just below a tree-depth
    threshold takes twice the leapfrog steps per draw (63 instead of 31 on the 2022-2025 window),
    so with chains in parallel its device finishes last. The pooled estimate uses every chain's
    window. The kernel stays fixed during sampling, so each chain still samples the posterior
    exactly; only the sampler's tuning changes. Computed on the host (no new JAX programs)."""
    ad = states.adapt_state
    step = np.asarray(ad.step_size)
    if step.ndim != 1 or step.shape[0] < 2:
        return states

    def pooled(x):
        x = np.asarray(x)
        return np.broadcast_to(x.mean(axis=0, keepdims=True), x.shape).astype(x.dtype)

    inverse = jax.tree.map(pooled, ad.inverse_mass_matrix)
    sqrt_inv = jax.tree.map(lambda v: np.sqrt(v).astype(v.dtype), inverse)
    sqrt = jax.tree.map(lambda v: (1.0 / v).astype(v.dtype), sqrt_inv)
    shared_step = np.full_like(step, np.median(step))
    return states._replace(
        adapt_state=ad._replace(
            step_size=shared_step,
            inverse_mass_matrix=inverse,
            mass_matrix_sqrt=sqrt,
            mass_matrix_sqrt_inv=sqrt_inv,
        )
    )


def sample_chains(model, cfg, method, devices, keys, states, kwargs):
    """Draws of all chains: (site -> (chains, draws, ...), field -> (chains, draws))."""
    fn = _mapped(partial(_sample_one, model, cfg), method, devices, 1)
    samples, extra = fn(keys, states, kwargs)
    return (
        {k: np.asarray(v) for k, v in samples.items()},
        {k: np.asarray(v) for k, v in extra.items()},
    )
