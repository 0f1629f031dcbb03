"""JAX's persistent compilation cache, enabled once per process in a folder the caller names.

Compiled XLA programs are reused across processes, so a warm cache skips most of NUTS's and the
simulator's compile time (static padded shapes make the programs identical across races).

Core reads no environment and imports nothing outside core: the caller passes the folder, or
None for off, usually `enable_compilation_cache(get_settings().jax_cache_dir)`
(nascar_pipeline.settings: default `<pipeline home>/cache/jax`, NASCAR_JAX_CACHE overrides it,
NASCAR_JAX_CACHE=off turns it off).
"""

from __future__ import annotations

import os
from collections.abc import Callable

Folder = str | os.PathLike[str] | None

_ENABLED: str | None = None  # None: not decided yet; "": off; else the folder in use
_default_folder: Callable[[], Folder] | None = None


class _Unset:
    """No folder passed (see enable_compilation_cache)."""


_UNSET = _Unset()


def set_default_folder(provider: Callable[[], Folder] | None) -> None:
    """TRANSITION: where a call without a folder finds one. nascar_pipeline.settings registers
    its `jax_cache_dir` here when imported, so core's own argument-less calls
    (core/model/__init__.py, core/model/fit.py, core/simulate.py) keep the cache on as before.
    Goes once those calls are gone and the entry points (definitions, commands, tests) pass the
    folder."""
    global _default_folder
    _default_folder = provider


def enable_compilation_cache(cache_dir: Folder | _Unset = _UNSET) -> str | None:
    """Turn on JAX's persistent compilation cache in `cache_dir` (None: leave it off).

    The first call with a folder or None decides for the process (JAX's cache folder is
    process-wide); later calls return that decision. Returns the folder in use, or None.
    Without an argument: the registered default (set_default_folder) decides; with none
    registered nothing is decided yet and None is returned."""
    global _ENABLED
    if _ENABLED is not None:
        return _ENABLED or None
    if isinstance(cache_dir, _Unset):
        if _default_folder is None:
            return None
        cache_dir = _default_folder()
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
