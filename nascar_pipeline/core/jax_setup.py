"""JAX setup shared by the model code: the persistent compilation cache, enabled once.

The cache lives in `nascar_pipeline.settings.jax_cache_dir()` (default
`<pipeline home>/cache/jax`, override with NASCAR_JAX_CACHE). Set NASCAR_JAX_CACHE=off to disable.
Compiled XLA programs are reused across processes, so a warm cache skips most of NUTS's and the
simulator's compile time (static padded shapes make the programs identical across races).
"""

from __future__ import annotations

import os

_ENABLED: str | None = None


def enable_compilation_cache() -> str | None:
    """Turn on JAX's persistent compilation cache (idempotent). Returns the folder or None."""
    global _ENABLED
    if _ENABLED is not None:
        return _ENABLED or None
    import jax

    from nascar_pipeline.settings import jax_cache_dir

    if os.environ.get("NASCAR_JAX_CACHE", "").lower() in ("off", "0", "none", "false"):
        _ENABLED = ""
        return None
    path = jax_cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    # Cache every program, however small: model set-up runs ~550 tiny op-by-op programs (0.06 s
    # each to compile, ~35 s in all on 2 cores, measured), which a cache load serves in ~7 ms.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    _ENABLED = str(path)
    return _ENABLED
