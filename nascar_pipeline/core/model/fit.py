"""Inference: a quick mean-field ADVI fit for initialisation, then NUTS chains.

- Mean-field Gaussian VI (ADVI, see `svi_init`; not MAP: a MAP estimate collapses the
  hierarchical scales to zero, the neck of the funnel): its locations, jittered by a fraction of
  its scales, start the chains, and its scales squared are NUTS's initial diagonal inverse mass
  matrix, so warm-up is short.
- NUTS chains run as two whole programs (warm-up, sampling) mapped over the chains, in parallel
  over the host's cores by default (core/model/chains.py); every program takes the data as
  arguments, so it depends only on the bucketed shapes (core/model/data.py) and is reused across
  races and from JAX's persistent compilation cache.
Timings separate compilation (JAX trace + lowering + backend compile or cache load, measured by
jax.monitoring events) from SVI, warm-up, sampling and diagnostics.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from numpyro import optim
from numpyro.infer.initialization import init_to_median
from numpyro.infer.util import initialize_model, potential_energy

from nascar_pipeline.core.jax_setup import ensure_host_devices
from nascar_pipeline.core.model.chains import (
    choose_chain_method,
    pool_adaptation,
    sample_chains,
    warmup_chains,
)
from nascar_pipeline.core.model.data import HistoryData
from nascar_pipeline.core.model.diagnostics import summarize_convergence
from nascar_pipeline.core.model.model import POSTERIOR_SITES, race_model

_COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",  # an XLA compile or a cache load
)
_CACHE_MISS = "/jax/compilation_cache/cache_misses"  # compiled and written to the cache


@dataclass(frozen=True)
class FitConfig:
    """Inference settings. Defaults are production-grade; tests use tiny values.
    `chain_method`: "auto" (parallel over the host's cores; vectorized on an accelerator),
    "parallel", "sequential" or "vectorized" (core/model/chains.py)."""

    num_warmup: int = 400
    num_samples: int = 500
    num_chains: int = 4
    seed: int = 0
    svi_steps: int = 1500
    svi_lr: float = 0.03
    target_accept: float = 0.9
    max_tree_depth: int = 7
    init_jitter: float = 0.5
    # Sample with one kernel for all chains: their pooled mass matrix, median step size
    # (core/model/chains.pool_adaptation).
    pool_adaptation: bool = True
    chain_method: str = "auto"

    def as_dict(self) -> dict:
        """The settings that define the draws' distribution (the fit-cache key): how the
        chains are mapped onto devices does not, so it is left out."""
        d = asdict(self)
        d.pop("chain_method")
        return d


@dataclass
class FitResult:
    posterior: dict  # site -> (chains, draws, ...) numpy arrays
    diverging: np.ndarray  # (chains, draws) bool
    num_steps: np.ndarray  # (chains, draws) leapfrog steps
    data: HistoryData
    diagnostics: dict
    timings: dict
    config: dict = field(default_factory=dict)
    init_state: tuple | None = None  # (locs, scales) unconstrained, from the posterior: warm start
    chain_method: str = ""  # how the chains ran: parallel / sequential / vectorized
    devices: int = 1

    def flat(self) -> dict:
        """site -> (chains * draws, ...)."""
        return {k: v.reshape((-1,) + v.shape[2:]) for k, v in self.posterior.items()}


class _CompileClock:
    def __init__(self):
        self.total = 0.0
        self.programs = 0  # executables compiled or loaded from a cache
        self.misses = 0  # of which compiled by XLA, not served by the persistent cache

    def __call__(self, event, duration, **kwargs):
        if event in _COMPILE_EVENTS:
            self.total += duration
        if event == _COMPILE_EVENTS[-1]:
            self.programs += 1

    def on_event(self, event, **kwargs):
        if event == _CACHE_MISS:
            self.misses += 1


_CLOCK = _CompileClock()
_REGISTERED = False


def compile_clock() -> _CompileClock:
    """The process's compile clock: `total` seconds of trace + lowering + compile or cache
    load, `programs` executables compiled or loaded, `misses` of them compiled by XLA and
    written to the persistent cache (counted only while the cache is on)."""
    global _REGISTERED
    if not _REGISTERED:
        jax.monitoring.register_event_duration_secs_listener(_CLOCK)
        jax.monitoring.register_event_listener(_CLOCK.on_event)
        _REGISTERED = True
    return _CLOCK


@contextmanager
def _phase(timings: dict, name: str):
    clock = compile_clock()
    c0, t0 = clock.total, time.perf_counter()
    yield
    wall = time.perf_counter() - t0
    comp = clock.total - c0
    timings[f"{name}_wall_s"] = wall
    timings[f"{name}_compile_s"] = comp


def bound_model(data: HistoryData):
    """The model with its static sizes bound (they fix parameter shapes, so they cannot be
    traced arguments under jit_model_args)."""
    return partial(
        race_model,
        n_drivers=data.n_drivers_padded,
        n_cars=data.n_cars_padded,
        n_orgs=data.n_orgs_padded,
    )


def svi_init(data: HistoryData, cfg: FitConfig, rng_key):
    """Mean-field Gaussian variational fit (ADVI) in NUTS's unconstrained space: returns
    (unconstrained locs, unconstrained scales) by site, and the losses.

    Written on numpyro's `potential_energy` rather than `SVI` + `AutoNormal`: SVI's loop closes
    over the data (baked into the program as constants) and the guide's site bookkeeping follows
    Python's randomised set order, so every process compiled a new program (7-30 s on 2 cores).
    Here the data are arguments of two jitted programs (initial point; the Adam scan): they
    depend only on the bucketed shapes and are reused across races and from the persistent
    compilation cache."""
    kwargs = {k: jnp.asarray(v) for k, v in data.arrays.items()}
    model = bound_model(data)
    k_init, k_run = jax.random.split(rng_key)
    z0 = _median_init(model)(k_init, kwargs)
    locs, scales, losses = _advi(model, cfg.svi_steps, cfg.svi_lr)(z0, k_run, kwargs)
    return locs, scales, np.asarray(losses)


def _median_init(model):
    """The prior-median initial point (unconstrained), one jitted program of the data: run
    eagerly, numpyro's set-up dispatched several hundred tiny programs."""

    def init(key, kwargs):
        info = initialize_model(
            key,
            model,
            model_kwargs=kwargs,
            dynamic_args=True,
            init_strategy=init_to_median(num_samples=15),
        )
        return info.param_info.z

    return jax.jit(init)


def _inv_softplus(y: float) -> float:
    return float(np.log(np.expm1(y)))


def _advi(model, n_steps: int, lr: float):
    """`n_steps` of Adam on the one-sample reparametrised negative ELBO from `z0`, skipping a
    step whose loss is not finite (like SVI.stable_update); returns (locs, scales, losses) by
    site. One jitted program with the data as arguments."""
    opt = optim.Adam(lr)

    def run(z0, key, kwargs):
        flat0, unravel = ravel_pytree(z0)

        def neg_elbo(params, key):
            loc, raw = params
            scale = jax.nn.softplus(raw)
            z = loc + scale * jax.random.normal(key, loc.shape)
            energy = potential_energy(model, (), kwargs, unravel(z))
            return energy - jnp.sum(jnp.log(scale))

        def step(opt_state, k):
            params = opt.get_params(opt_state)
            loss, grads = jax.value_and_grad(neg_elbo)(params, k)
            ok = jnp.isfinite(loss) & jnp.all(jnp.isfinite(ravel_pytree(grads)[0]))
            new_state = opt.update(grads, opt_state)
            keep = jax.tree.map(lambda new, old: jnp.where(ok, new, old), new_state, opt_state)
            return keep, loss

        start = (flat0, jnp.full_like(flat0, _inv_softplus(0.1)))
        final, losses = jax.lax.scan(step, opt.init(start), jax.random.split(key, n_steps))
        loc, raw = opt.get_params(final)
        return unravel(loc), unravel(jax.nn.softplus(raw)), losses

    return jax.jit(run)


def fit_model(
    data: HistoryData, cfg: FitConfig = FitConfig(), init: tuple | None = None
) -> FitResult:
    """Fit the race model to prepared history. `init` = (locs, scales) from an earlier SVI fit of
    the same shapes (a warm start; skips SVI).

    `FitResult.timings` (seconds): compile_s (all stages), svi_s, warmup_s, sampling_s,
    diagnostics_s (each without compilation), total_s, and per stage `<stage>_wall_s` /
    `<stage>_compile_s`; chains_parallel (1.0 / 0.0) and devices say how the chains ran."""
    # Before any JAX operation: a process whose entry point did not call configure_jax gets
    # its host devices here (a no-op once decided, a logged fallback if JAX started already).
    ensure_host_devices()
    # Every fit builds new jitted closures whose executables JAX keeps in memory: thousands of
    # memory maps per fit, so a long process (the backtest, a code server) hit the kernel's
    # 65,530-map limit after ~15 fits. Dropping the in-memory caches first keeps a process flat;
    # the programs come back from the persistent cache.
    jax.clear_caches()
    timings: dict = {}
    kwargs = {k: jnp.asarray(v) for k, v in data.arrays.items()}
    model = bound_model(data)
    key = jax.random.PRNGKey(cfg.seed)
    k_svi, k_jit, k_warm, k_run = jax.random.split(key, 4)
    C = cfg.num_chains
    method, devices, why = choose_chain_method(cfg.chain_method, C)

    with _phase(timings, "svi"):
        if init is None:
            locs, scales, losses = svi_init(data, cfg, k_svi)
            timings["svi_final_loss"] = float(losses[-1]) if len(losses) else float("nan")
        else:
            locs, scales = init
        locs = jax.tree.map(jnp.asarray, locs)
        scales = jax.tree.map(jnp.asarray, scales)
        init_params, inv_mass = _chain_starts(locs, scales, k_jit, C, cfg.init_jitter)
        jax.block_until_ready(init_params)

    with _phase(timings, "warmup"):
        states = warmup_chains(
            model,
            cfg,
            method,
            devices,
            jax.random.split(k_warm, C),
            init_params,
            inv_mass,
            kwargs,
        )
        jax.block_until_ready(states)
        step_sizes = [float(x) for x in np.asarray(states.adapt_state.step_size)]
        if cfg.pool_adaptation:
            states = pool_adaptation(states)
    with _phase(timings, "sampling"):
        samples, extra = sample_chains(
            model, cfg, method, devices, jax.random.split(k_run, C), states, kwargs
        )

    with _phase(timings, "diagnostics"):
        posterior = {k: samples[k] for k in POSTERIOR_SITES if k in samples}
        init_state = posterior_init_state({k: samples[k] for k in locs})
        diverging = extra["diverging"].reshape(C, -1)
        num_steps = extra["num_steps"].reshape(C, -1)
        diag = summarize_convergence(posterior, diverging, data.n_drivers, num_steps)
    stages = ("svi", "warmup", "sampling", "diagnostics")
    timings["compile_s"] = sum(timings[f"{s}_compile_s"] for s in stages)
    for s in stages:
        timings[f"{s}_s"] = max(timings[f"{s}_wall_s"] - timings[f"{s}_compile_s"], 0.0)
    timings["total_s"] = sum(timings[f"{s}_wall_s"] for s in stages)
    timings["chains_parallel"] = 1.0 if method == "parallel" else 0.0
    timings["devices"] = float(devices)
    diag["ess_per_s"] = diag["ess_bulk_min"] / max(timings["sampling_s"], 1e-9)
    diag["chain_method"] = method
    diag["warmup_step_sizes"] = step_sizes  # each chain's own, before pooling
    diag["chain_method_reason"] = why
    return FitResult(
        posterior=posterior,
        diverging=diverging,
        num_steps=num_steps,
        data=data,
        diagnostics=diag,
        timings=timings,
        config=cfg.as_dict(),
        init_state=init_state,
        chain_method=method,
        devices=devices,
    )


@partial(jax.jit, static_argnums=(3, 4))
def _chain_starts(locs, scales, key, n_chains: int, jitter: float):
    """Each chain's initial point (leading axis: chain) = ADVI locs + jitter * scales * N(0, 1),
    and the initial inverse mass matrix (ADVI scales squared, clipped), flat."""
    leaves, treedef = jax.tree.flatten(locs)
    noise_keys = jax.random.split(key, len(leaves))
    scale_leaves = jax.tree.leaves(scales)
    init_params = jax.tree.unflatten(
        treedef,
        [
            l[None] + jitter * s[None] * jax.random.normal(nk, (n_chains,) + l.shape)
            for l, s, nk in zip(leaves, scale_leaves, noise_keys)
        ],
    )
    inv_mass, _ = ravel_pytree(jax.tree.map(lambda s: jnp.clip(s, 1e-3, 10.0) ** 2, scales))
    return init_params, inv_mass


def first_gradient(data: HistoryData, seed: int = 0) -> float:
    """The model's potential energy and its gradient at the initial point, through the same
    programs a fit starts with (what a fresh worker waits for before its first step).
    Returns the potential energy."""
    ensure_host_devices()
    kwargs = {k: jnp.asarray(v) for k, v in data.arrays.items()}
    model = bound_model(data)
    z0 = _median_init(model)(jax.random.PRNGKey(seed), kwargs)
    value, grad = _energy_and_grad(model)(z0, kwargs)
    jax.block_until_ready(grad)
    return float(value)


def gradient_cpu_seconds(data: HistoryData, n: int = 500, seed: int = 0) -> float:
    """CPU seconds of one potential-energy gradient, as NUTS pays it inside its compiled loop
    (n gradients in one jitted fori_loop, after a warm-up call): what a fit's warm-up and
    sampling cost per leapfrog step. CPU time, so a busy machine does not inflate it."""
    kwargs = {k: jnp.asarray(v) for k, v in data.arrays.items()}
    model = bound_model(data)
    z0 = _median_init(model)(jax.random.PRNGKey(seed), kwargs)
    energy = jax.value_and_grad(lambda z, kw: potential_energy(model, (), kw, z))

    @jax.jit
    def steps(z, kw, count):
        def body(_, carry):
            z, total = carry
            value, grad = energy(z, kw)
            return jax.tree.map(lambda a, g: a - 1e-6 * g, z, grad), total + value

        return jax.lax.fori_loop(0, count, body, (z, 0.0))

    jax.block_until_ready(steps(z0, kwargs, 2))
    c0 = time.process_time()
    jax.block_until_ready(steps(z0, kwargs, n))
    return (time.process_time() - c0) / n


def _energy_and_grad(model):
    return jax.jit(jax.value_and_grad(lambda z, kwargs: potential_energy(model, (), kwargs, z)))


def posterior_init_state(latent: dict) -> tuple[dict, dict]:
    """Unconstrained mean and sd of each latent site over all draws ((chains, draws, ...) in).
    Only the sigma_* sites are constrained (positive): their unconstrained value is the log."""
    locs, scales = {}, {}
    for k, v in latent.items():
        x = v.reshape((-1,) + v.shape[2:]).astype(np.float64)
        if k.startswith("sigma_"):
            x = np.log(np.maximum(x, 1e-8))
        locs[k] = x.mean(axis=0).astype(np.float32)
        scales[k] = np.maximum(x.std(axis=0), 1e-3).astype(np.float32)
    return locs, scales


_BY_DRIVER = ("skill_z", "skill_track_z")
_BY_CAR = ("car_z",)
_BY_ORG = ("org_z",)


def remap_init(init: tuple, old: HistoryData, new: HistoryData) -> tuple[dict, dict]:
    """Carry a warm start from one race's fit to the next: driver- and car-indexed sites are
    re-indexed by driver id / car number / organisation (new ones start at the prior: loc 0,
    scale 1)."""
    locs, scales = init
    out_l, out_s = {}, {}
    maps = {
        "driver": (old.driver_index(), new.driver_ids, new.n_drivers_padded),
        "car": (old.car_index(), new.car_numbers, new.n_cars_padded),
        "org": (old.org_index(), new.org_names, new.n_orgs_padded),
    }
    for k in locs:
        l, sc = np.asarray(locs[k]), np.asarray(scales[k])
        kind = (
            "driver"
            if k in _BY_DRIVER
            else "car"
            if k in _BY_CAR
            else "org"
            if k in _BY_ORG
            else None
        )
        if kind is None:
            out_l[k], out_s[k] = l, sc
            continue
        old_index, new_keys, n_pad = maps[kind]
        nl = np.zeros((n_pad,) + l.shape[1:], np.float32)
        ns = np.ones((n_pad,) + l.shape[1:], np.float32)
        for j, key in enumerate(new_keys):
            i = old_index.get(int(key) if kind == "driver" else str(key))
            if i is not None:
                nl[j], ns[j] = l[i], sc[i]
        out_l[k], out_s[k] = nl, ns
    return out_l, out_s
