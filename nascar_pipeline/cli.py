"""`nascar-pipeline` command line. Subcommands live in nascar_pipeline/commands/, one module
each, discovered here so that adding a command touches one file."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from nascar_pipeline import __version__
from nascar_pipeline.errors import UserInputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nascar-pipeline",
        description="NASCAR DFS pipeline: ingest, model, optimize, simulate, serve.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import nascar_pipeline.commands as commands

    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def quiet_dagster_warnings() -> None:
    """Hide Dagster's PreviewWarning and BetaWarning blocks. They tell the author of the
    definitions that an API they chose (partitioned asset checks, pools) may change in a patch
    release; Dagster raises them each time the definitions load, so every command printed a
    screen of them, and a player can do nothing about them. The pins in constraints.txt and the
    test suite are what guard against such a change. Matched on Dagster's wording ("is
    currently in preview" / "in beta": the two classes' messages), so the command line need not
    import Dagster before it knows whether the command uses it."""
    import warnings

    warnings.filterwarnings("ignore", message=r"(?s).*is currently in (preview|beta)")
    for name in ("PreviewWarning", "BetaWarning"):
        # Dagster already imported (a test, an embedding program): by class as well.
        cls = getattr(sys.modules.get("dagster"), name, None)
        if isinstance(cls, type) and issubclass(cls, Warning):
            warnings.filterwarnings("ignore", category=cls)


def main(argv: list[str] | None = None) -> int:
    quiet_dagster_warnings()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
