"""The import graph: layers point one way (Neo4j -> ontology -> core -> assets -> storage -> API).

Reads every module under nascar_pipeline/ (and api/) with ast, imports at any depth included
(a function-level import is still a dependency); nothing is imported, no service started.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "nascar_pipeline"
SETTINGS = f"{PACKAGE}.settings"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(top: str) -> dict[str, ast.Module]:
    return {
        _module_name(p): ast.parse(p.read_text(), filename=str(p))
        for p in sorted((ROOT / top).rglob("*.py"))
    }


MODULES = _modules(PACKAGE) | _modules("api")


def _imports(name: str, tree: ast.Module) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the module, relative ones resolved."""
    package = name if name in _packages() else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            out.append((node.lineno, base))
            # `from pkg import module` imports pkg.module too
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names if a.name != "*"]
    return out


def _packages() -> set[str]:
    return {
        _module_name(p.parent / "__init__.py") for p in ROOT.joinpath(PACKAGE).rglob("__init__.py")
    }


def _is_under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _first_party(module: str) -> bool:
    return _is_under(module, PACKAGE) or _is_under(module, "api")


def _violations(layer: str, allowed: tuple[str, ...]) -> list[str]:
    """First-party imports by modules under `layer` of anything outside the `allowed` prefixes
    (the root package itself, imported on the way to any of its modules, does not count)."""
    bad = []
    for name, tree in MODULES.items():
        if not _is_under(name, layer):
            continue
        for line, target in _imports(name, tree):
            if target == PACKAGE or not _first_party(target):
                continue
            if not any(_is_under(target, a) for a in allowed):
                bad.append(f"{name}:{line} imports {target}")
    return sorted(set(bad))


def test_the_walk_sees_the_package():
    assert f"{PACKAGE}.core.rules" in MODULES and f"{PACKAGE}.core.tables" in MODULES
    assert any(_is_under(m, f"{PACKAGE}.assets") for m in MODULES)


def test_core_imports_only_core_and_third_party():
    assert _violations(f"{PACKAGE}.core", (f"{PACKAGE}.core",)) == []


@pytest.mark.parametrize(
    "layer, forbidden",
    [
        (f"{PACKAGE}.ontology", (f"{PACKAGE}.assets", f"{PACKAGE}.commands", "api")),
        (f"{PACKAGE}.sources", (f"{PACKAGE}.assets", f"{PACKAGE}.commands", "api")),
        (f"{PACKAGE}.storage", (f"{PACKAGE}.assets", f"{PACKAGE}.commands", "api")),
        ("api", (f"{PACKAGE}.assets",)),
    ],
)
def test_lower_layers_do_not_import_upper_ones(layer, forbidden):
    bad = [
        f"{name}:{line} imports {target}"
        for name, tree in MODULES.items()
        if _is_under(name, layer)
        for line, target in _imports(name, tree)
        if any(_is_under(target, f) for f in forbidden)
    ]
    assert bad == []


def _environment_reads(tree: ast.Module) -> list[tuple[int, str]]:
    """os.environ / os.getenv / os.putenv uses, and imports of them from os."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv"):
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                out.append((node.lineno, f"os.{node.attr}"))
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            out += [
                (node.lineno, f"from os import {a.name}")
                for a in node.names
                if a.name in ("environ", "getenv", "putenv")
            ]
    return out


def test_assets_do_not_read_the_environment():
    """No asset or check reads os.environ, nor the settings module (which reads it): what an
    asset needs from the environment comes in as a resource."""
    bad = []
    for name, tree in MODULES.items():
        if not _is_under(name, f"{PACKAGE}.assets"):
            continue
        bad += [f"{name}:{line} {what}" for line, what in _environment_reads(tree)]
        bad += [
            f"{name}:{line} imports {target}"
            for line, target in _imports(name, tree)
            if _is_under(target, SETTINGS)
        ]
    assert sorted(set(bad)) == []


def test_core_reads_no_environment():
    """Core takes what it needs as arguments; only settings.py reads the environment."""
    bad = [
        f"{name}:{line} {what}"
        for name, tree in MODULES.items()
        if _is_under(name, f"{PACKAGE}.core")
        for line, what in _environment_reads(tree)
    ]
    assert bad == []
