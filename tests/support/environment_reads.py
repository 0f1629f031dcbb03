"""Finds the places a Python module reads the environment (tests/test_settings.py asserts that
only nascar_pipeline/settings.py does)."""

from __future__ import annotations

import ast


def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def environment_reads(source: str) -> list[str]:
    """`line: code` for each read of the environment: os.environ[...] / .get / .setdefault / .pop,
    `in os.environ`, os.getenv, Dagster's EnvVar(...). Writing a variable (os.environ[X] = ...,
    for Dagster or a child process) and handing the whole environment to a child
    ({**os.environ, ...}) are not reads of a variable."""
    found = []
    for node in ast.walk(ast.parse(source)):
        read = False
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            read = isinstance(node.ctx, ast.Load)
        elif isinstance(node, ast.Call):
            func = node.func
            read = (
                (isinstance(func, ast.Attribute) and _is_environ(func.value))
                and func.attr in ("get", "setdefault", "pop")
                or (isinstance(func, ast.Attribute | ast.Name) and _name(func) == "getenv")
                or (isinstance(func, ast.Attribute | ast.Name) and _name(func) == "EnvVar")
                or (isinstance(func, ast.Attribute) and _name(func.value) == "EnvVar")
            )
        elif isinstance(node, ast.Compare):
            read = any(_is_environ(c) for c in node.comparators)
        if read:
            found.append((node.lineno, node.col_offset, ast.unparse(node)))
    return [f"{line}: {code}" for line, _, code in sorted(found)]


def _name(node: ast.AST) -> str:
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
