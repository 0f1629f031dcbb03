"""The Dagster internals the instance plugins rely on are where, and what, they expect.

nascar_pipeline/instance/_dagster_internals.py lists every private Dagster / dagster-postgres
name the plugins import, with REQUIRED: what of each they use (parameters, attributes, methods,
what a property reads). A Dagster upgrade that moves or changes one fails here, naming the
symbol, instead of failing a storage call on a live instance. No database needed."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "nascar_pipeline" / "instance"
INTERNALS_FILE = PACKAGE / "_dagster_internals.py"
HINT = "update nascar_pipeline/instance/_dagster_internals.py"


def _is_private(module: str) -> bool:
    """dagster._* and dagster_postgres's own modules (the plugins subclass their storages)."""
    return module.startswith("dagster._") or module.startswith("dagster_postgres")


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every `from X import Y` in a file, also inside functions."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [(alias.name, "") for alias in node.names]
    return out


# Read from the source, not imported: a moved name must not stop the per-name tests below.
LISTED = [(m, n) for m, n in _imports(INTERNALS_FILE) if _is_private(m)]


@pytest.fixture(scope="module")
def internals():
    from nascar_pipeline.instance import _dagster_internals

    return _dagster_internals


def test_the_list_is_not_empty_and_every_name_has_its_requirements(internals):
    assert internals.FIX_HINT == HINT
    assert len(LISTED) >= 10
    names = {n for _, n in LISTED}
    assert names == set(internals.REQUIRED), (
        "REQUIRED and the imports of _dagster_internals.py name different symbols: "
        f"{sorted(names ^ set(internals.REQUIRED))}"
    )


@pytest.mark.parametrize(("module", "name"), LISTED, ids=[f"{m}.{n}" for m, n in LISTED])
def test_each_private_name_still_imports(module, name):
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(f"Dagster moved {module} (for {name}): {HINT} ({exc})")
    if not hasattr(mod, name):
        pytest.fail(f"Dagster moved {module}.{name}: {HINT}")


def _params(fn) -> list[str]:
    return [p for p in inspect.signature(fn).parameters if p not in ("self", "cls")]


def _check_params(label: str, fn, expected: tuple[str, ...]) -> None:
    got = _params(fn)
    missing = [p for p in expected if p not in got]
    assert not missing, (
        f"Dagster changed {label}: it no longer takes {missing} (takes {got}): {HINT}"
    )


def _dotted(obj, path: str):
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("name", sorted({n for _, n in LISTED}))
def test_each_private_name_still_has_what_the_plugins_use(internals, name):
    need = internals.REQUIRED[name]
    obj = getattr(internals, name)
    if "params" in need:
        if hasattr(obj, "_fields"):  # a NamedTuple: its fields are its parameters
            missing = [p for p in need["params"] if p not in obj._fields]
            assert not missing, f"Dagster changed {name}: no field {missing}: {HINT}"
        else:
            _check_params(name, obj.__init__ if inspect.isclass(obj) else obj, need["params"])
    for attr in need.get("attributes", ()):
        try:
            _dotted(obj, attr)
        except AttributeError:
            pytest.fail(f"Dagster changed {name}: it has no {attr}: {HINT}")
    for method, params in need.get("methods", {}).items():
        if not hasattr(obj, method):
            pytest.fail(f"Dagster changed {name}: it has no method {method}: {HINT}")
        _check_params(f"{name}.{method}", getattr(obj, method), params)
    if "returns" in need:
        value = obj()
        missing = [k for k in need["returns"] if k not in value]
        assert not missing, f"Dagster changed {name}(): no {missing} in what it returns: {HINT}"
    if "subclass_of" in need:
        assert issubclass(obj, need["subclass_of"]), f"Dagster changed {name}: {HINT}"
    for prop, attribute in need.get("reads", {}).items():
        source = inspect.getsource(inspect.getattr_static(obj, prop).fget)
        assert f"self.{attribute}" in source, (
            f"Dagster changed {name}.{prop}: it no longer returns self.{attribute}, which "
            f"ResilientPostgresStorage sets itself: {HINT}"
        )


def test_the_plugins_import_private_names_only_through_the_list():
    offenders = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path == INTERNALS_FILE:
            continue
        offenders += [f"{path.name}: {m}.{n}" for m, n in _imports(path) if _is_private(m)]
    assert not offenders, f"private Dagster imports outside _dagster_internals.py: {offenders}"


def test_a_moved_name_fails_with_a_message_that_names_it(monkeypatch):
    """The failures an upgrade would cause read as intended (checked on a fake move): this
    test names the symbol, and so does importing the plugin in production."""
    import importlib.util

    import dagster._core.storage.config as config_module

    monkeypatch.delattr(config_module, "pg_config")
    with pytest.raises(pytest.fail.Exception, match=r"Dagster moved .*pg_config: update "):
        test_each_private_name_still_imports("dagster._core.storage.config", "pg_config")
    spec = importlib.util.spec_from_file_location("_internals_copy", INTERNALS_FILE)
    with pytest.raises(ImportError, match=r"Dagster moved .*pg_config.*: update nascar_pipeline"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


def test_the_plugin_module_loads_with_the_listed_names(internals):
    """What dagster.yaml names imports, and its parts are the listed dagster-postgres classes."""
    postgres = importlib.import_module("nascar_pipeline.instance.postgres")

    assert issubclass(postgres.ResilientPostgresStorage, internals.DagsterPostgresStorage)
    assert issubclass(postgres.ResilientPostgresRunStorage, internals.PostgresRunStorage)
    assert issubclass(postgres.ResilientPostgresEventLogStorage, internals.PostgresEventLogStorage)
    assert issubclass(postgres.ResilientPostgresScheduleStorage, internals.PostgresScheduleStorage)
    assert postgres.MODULE == "nascar_pipeline.instance.postgres"
