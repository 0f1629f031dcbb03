"""JAX's persistent compilation cache, enabled once per process in a folder the caller names.

Compiled XLA programs are reused across processes, so a warm cache skips most of NUTS's and the
simulator's compile time (static padded shapes make the programs identical across races).

Core reads no environment: the caller outside core passes the folder, or None for off, usually
`enable_compilation_cache(get_settings().jax_cache_dir)` (nascar_pipeline.settings: default
`<pipeline home>/cache/jax`, NASCAR_JAX_CACHE overrides it, NASCAR_JAX_CACHE=off turns it off).
"""

from __future__ import annotations

import os

_ENABLED: str | None = None  # None: not decided yet; "": off; else the folder in use


class _FromSettings:
    """The argument's default during the transition (see enable_compilation_cache)."""


_FROM_SETTINGS = _FromSettings()


def enable_compilation_cache(
    cache_dir: str | os.PathLike[str] | None | _FromSettings = _FROM_SETTINGS,
) -> str | None:
    """Turn on JAX's persistent compilation cache in `cache_dir` (None: leave it off).

    The first call decides for the process (JAX's cache folder is process-wide); later calls
    return that decision. Returns the folder in use, or None when off.

    TRANSITION: called with no argument (core/model/__init__.py, core/model/fit.py and
    core/simulate.py still do), the folder comes from nascar_pipeline.settings as before. That
    import reaches outside core; it goes once those callers stop enabling the cache themselves
    and the assets and commands that fit or simulate pass the folder instead."""
    global _ENABLED
    if _ENABLED is not None:
        return _ENABLED or None
    if isinstance(cache_dir, _FromSettings):
        from nascar_pipeline.settings import get_settings  # TRANSITION, see the docstring

        cache_dir = get_settings().jax_cache_dir
    if cache_dir is None:
        _ENABLED = ""
        return None
    import jax

    path = os.fspath(cache_dir)
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    # Cache every program, however small: model set-up runs ~550 tiny op-by-op programs (0.06 s
    # each to compile, ~35 s in all on 2 cores, measured), which a cache load serves in ~7 ms.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    _ENABLED = path
    return _ENABLED
