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

import ast
import functools
import hashlib
import importlib.util
import inspect
import textwrap
from collections.abc import Iterable
from pathlib import Path

from dagster import AssetExecutionContext, Config, asset, asset_check

from nascar_pipeline.assets.partitions import races_partitions
from nascar_pipeline.assets.tracing import asset_span

IO_MANAGER_KEY = "parquet_io_manager"


CORE = "nascar_pipeline.core"


def _module_path(name: str) -> Path | None:
    """The file of a core module (a package: its __init__.py), or None. Found by path, never
    imported (nor its parent packages): core modules import JAX, which loading the code
    location should not pay for."""
    root = Path(importlib.util.find_spec(CORE).origin).parent
    base = root.joinpath(*name.split(".")[2:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_files(name: str) -> list[Path]:
    """The source files of a core module, or of every module of a core package."""
    path = _module_path(name)
    if path is None:
        raise ValueError(f"code_version: no module {name!r}")
    return sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]


def _core_imports(tree: ast.AST) -> set[str]:
    """The core modules an AST imports (`from nascar_pipeline.core import rules` names the
    module nascar_pipeline.core.rules)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith(CORE + ".")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(CORE):
            if node.module == CORE:
                found |= {
                    f"{CORE}.{a.name}" for a in node.names if _module_path(f"{CORE}.{a.name}")
                }
            else:
                found.add(node.module)
    return found


def _core_closure(names: set[str]) -> list[Path]:
    """The files of these core modules and of every core module they import, transitively."""
    seen: set[str] = set()
    todo = set(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for f in _module_files(name):
            todo |= _core_imports(ast.parse(f.read_bytes()))
    return sorted({f for name in seen for f in _module_files(name)})


def config_sources(annotation) -> list[str]:
    """The sources of a run-config class and of the config classes it derives from (not
    dagster's own), in its method resolution order; [] for anything else."""
    if not (isinstance(annotation, type) and issubclass(annotation, Config)):
        return []
    return [
        inspect.getsource(c)
        for c in annotation.__mro__
        if issubclass(c, Config) and not c.__module__.startswith("dagster")
    ]


def code_version(fn, uses: Iterable[str] = ()) -> str:
    """A code version that changes when the asset's code does.

    The first 12 hex digits of a SHA-256 over: the asset function's source, the source of its
    run-config class and of the project's config classes it derives from (defaults are
    behaviour, wherever they are declared), and the source files of the core modules it
    uses: those imported by the function's body and at the top of its module (plus any named
    in `uses`), and every core module those import, transitively, read as text, never imported.
    Comments and formatting count too: a needless re-run is cheaper than a stale asset shown
    fresh.
    """
    source = inspect.getsource(fn)
    h = hashlib.sha256(source.encode())
    for p in inspect.signature(fn).parameters.values():
        for text in config_sources(p.annotation):
            h.update(text.encode())
    module = ast.parse(Path(inspect.getsourcefile(fn)).read_bytes())
    top_level = ast.Module(
        body=[n for n in module.body if isinstance(n, (ast.Import, ast.ImportFrom))],
        type_ignores=[],
    )
    body = ast.parse(textwrap.dedent(source))
    for f in _core_closure(_core_imports(top_level) | _core_imports(body) | set(uses)):
        h.update(f.read_bytes())
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
