"""Process-wide JAX set-up, decided by the caller: the persistent compilation cache folder and
the number of host (CPU) devices that MCMC chains run on in parallel.

Compiled XLA programs are reused across processes, so a warm cache skips most of NUTS's and the
simulator's compile time (bucketed static shapes make the programs identical across races).

Core reads no environment and imports nothing outside core: entry points call
`configure_jax(get_settings().jax_cache_dir)` (nascar_pipeline.settings: default
`<pipeline home>/cache/jax`, NASCAR_JAX_CACHE overrides it, NASCAR_JAX_CACHE=off turns it off)
before their first JAX operation, so the host devices can still be set: the CLI commands and
benchmarks directly, Dagster runs through the `jax_runtime` resource
(nascar_pipeline/resources/jax_runtime.py). A process that calls neither fits without a
persistent cache.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

Folder = str | os.PathLike[str] | None

log = logging.getLogger(__name__)

_ENABLED: str | None = None  # None: not decided yet; "": off; else the folder in use


def enable_compilation_cache(cache_dir: Folder) -> str | None:
    """Turn on JAX's persistent compilation cache in `cache_dir` (None: leave it off).

    The first call decides for the process (JAX's cache folder is process-wide); later calls
    return that decision. Returns the folder in use, or None."""
    global _ENABLED
    if _ENABLED is not None:
        return _ENABLED or None
    if cache_dir is None:
        _ENABLED = ""
        return None
    import jax

    path = os.fspath(cache_dir)
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    # Cache every program, however small: a cache load (a few ms) beats any compile.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    _ENABLED = path
    return _ENABLED


def configure_jax(cache_dir: Folder, host_devices: int | None = None) -> dict:
    """What an entry point calls once, before any JAX operation: the compilation cache (see
    enable_compilation_cache) and `host_devices` CPU devices (default: the cores this process
    may use, `usable_cores()`), so chains can run in parallel. Returns what was decided."""
    folder = enable_compilation_cache(cache_dir)
    devices = ensure_host_devices(host_devices)
    return {"jax_cache_dir": folder, "host_devices": devices}


def usable_cores() -> int:
    """CPU cores this process may use: its affinity mask, capped by the cgroup's CPU quota
    (cgroup v2 cpu.max or v1 cfs_quota_us / cfs_period_us; a container's `cpu: 2` limit)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        cores = min(cores, max(1, int(quota + 0.5)))
    return max(1, cores)


def cgroup_cpu_quota(root: str | os.PathLike[str] = "/sys/fs/cgroup") -> float | None:
    """CPUs the cgroup's quota allows (quota / period), or None when unlimited or unknown."""
    root = Path(root)
    try:
        text = (root / "cpu.max").read_text().split()
        if text and text[0] != "max":
            return float(text[0]) / float(text[1])
        return None
    except (OSError, ValueError, IndexError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


_HOST_DEVICES: int | None = None  # what ensure_host_devices decided (or found)
_HOST_DEVICES_REASON = ""


def ensure_host_devices(n: int | None = None) -> int:
    """Ask JAX for `n` CPU devices (default `usable_cores()`) if its backends are not
    initialized yet; otherwise keep what is there and log why. Returns the CPU device count
    this process has (or will have)."""
    global _HOST_DEVICES, _HOST_DEVICES_REASON
    if _HOST_DEVICES is not None:
        return _HOST_DEVICES
    import jax
    from jax._src import xla_bridge  # backends_are_initialized has no public name

    want = max(1, int(n if n is not None else usable_cores()))
    if xla_bridge.backends_are_initialized():
        have = len(jax.devices("cpu"))
        if have < want:
            _HOST_DEVICES_REASON = (
                f"JAX was initialized before configure_jax: {have} CPU device(s), not {want}; "
                "chains that do not fit run one after another"
            )
            log.info(_HOST_DEVICES_REASON)
        _HOST_DEVICES = have
        return have
    if int(jax.config.jax_num_cpu_devices) < 1:  # an explicit jax_num_cpu_devices wins
        jax.config.update("jax_num_cpu_devices", want)
    _HOST_DEVICES = want
    return want


def host_devices_reason() -> str:
    """Why the process has fewer CPU devices than cores ('' when it does not)."""
    return _HOST_DEVICES_REASON
