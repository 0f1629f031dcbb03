"""One definition of what every stored asset and every race check shares.

`race_asset`: partitioned by race (the one partition dimension), stored by the Parquet IO
manager, traced (one span per asset step, tagged with the race and run: assets/tracing.py), a
code version derived from its code, and its docstring as its description.
`stored_asset`: the same without the race partitions (season_report).
`race_check`: a blocking check of a race asset, its docstring as its description.

Race checks carry the races partitions themselves: without them a check of a dynamically
partitioned asset loads the first registered partition, not the run's (dagster#17005, #27747;
reproduced on 1.13.27). The race job runs in process for the same reason (definitions.py).
"""

import functools
import hashlib
import importlib.util
import inspect
from collections.abc import Iterable
from pathlib import Path

from dagster import AssetExecutionContext, Config, asset, asset_check

from nascar_pipeline.assets.partitions import races_partitions
from nascar_pipeline.assets.tracing import asset_span

IO_MANAGER_KEY = "parquet_io_manager"


def _module_sources(name: str) -> list[bytes]:
    """The source bytes of a module (or of every module of a package), found without
    importing it: core modules import JAX, which the code location should not pay for here."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ValueError(f"code_version: no module {name!r}")
    origin = Path(spec.origin)
    files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
    return [f.read_bytes() for f in files]


def code_version(fn, uses: Iterable[str] = ()) -> str:
    """A code version that changes when the asset's code does.

    The first 12 hex digits of a SHA-256 over: the asset function's source, the source of its
    run-config class (defaults are behaviour), and the source files of the modules it names in
    `uses` (the core modules it calls; a package counts with all its modules). Formatting or
    comments in those count too: a needless re-run is cheaper than a stale asset shown fresh.
    """
    h = hashlib.sha256(inspect.getsource(fn).encode())
    for p in inspect.signature(fn).parameters.values():
        if isinstance(p.annotation, type) and issubclass(p.annotation, Config):
            h.update(inspect.getsource(p.annotation).encode())
    for name in sorted(set(uses)):
        for source in _module_sources(name):
            h.update(source)
    return h.hexdigest()[:12]


def _traced(fn):
    """The asset function inside one span for the step."""

    @functools.wraps(fn)
    def run_in_span(*args, **kwargs):
        with asset_span(AssetExecutionContext.get()):
            return fn(*args, **kwargs)

    return run_in_span


def stored_asset(*, group: str, uses: Iterable[str] = (), partitioned: bool = False, **kwargs):
    """An asset written by the Parquet IO manager; kwargs go to @asset (kinds, pool, ...)."""

    def decorate(fn):
        return asset(
            group_name=group,
            io_manager_key=IO_MANAGER_KEY,
            code_version=code_version(fn, uses),
            partitions_def=races_partitions if partitioned else None,
            **kwargs,
        )(_traced(fn))

    return decorate


def race_asset(*, group: str, uses: Iterable[str] = (), **kwargs):
    """An asset with one Parquet file per race (see the module docstring)."""
    return stored_asset(group=group, uses=uses, partitioned=True, **kwargs)


def race_check(asset_def):
    """A blocking check of one race's materialization of `asset_def`."""

    def decorate(fn):
        return asset_check(asset=asset_def, blocking=True, partitions_def=races_partitions)(fn)

    return decorate
