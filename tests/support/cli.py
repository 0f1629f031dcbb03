"""Run the `nascar-pipeline` CLI in-process and capture what it printed."""

from __future__ import annotations

from nascar_pipeline.cli import main


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `nascar-pipeline ARGS`; earlier output is discarded."""
    capsys.readouterr()
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err
