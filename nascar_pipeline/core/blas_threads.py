"""One BLAS thread for the calling thread only, where the BLAS allows it.

Why: core.contest_ranks runs one worker thread per core, each multiplying small matrices; OpenBLAS
adding its own threads on top oversubscribes the cores (measured on 2 loaded cores, 200,000-entry
field: 42 s with OpenBLAS's default threads, 16 s with one per worker). OpenBLAS >= 0.3.27 (what
NumPy wheels bundle) has `openblas_set_num_threads_local`, which changes only the calling thread, so
nothing else in the process is touched. Any other BLAS, or none found: a no-op.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path


def _loaded_openblas_paths() -> list[str]:
    """Shared objects with "openblas" in their name mapped into this process (Linux)."""
    try:
        with open("/proc/self/maps") as maps:
            found = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return []
    return sorted(p for p in found if p.startswith("/") and Path(p).is_file())


@lru_cache(maxsize=1)
def _set_local_threads() -> Callable[[int], int] | None:
    import numpy  # noqa: F401  (loads its BLAS, so it is mapped below)

    no_load = getattr(os, "RTLD_NOLOAD", 0)  # attach only to a library already loaded
    for path in _loaded_openblas_paths():
        try:
            lib = ctypes.CDLL(path, mode=no_load | getattr(os, "RTLD_LOCAL", 0))
            fn = lib.openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_int]
        fn.restype = ctypes.c_int
        return fn
    return None


@contextmanager
def single_blas_thread() -> Iterator[bool]:
    """Inside: BLAS calls from this thread use one thread. Yields whether that could be set."""
    fn = _set_local_threads()
    if fn is None:
        yield False
        return
    previous = fn(1)
    try:
        yield True
    finally:
        fn(previous)
