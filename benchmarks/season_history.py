"""The shared data's Cup history and loop rows as the season backtest reads them (the finished
starts, race dates as text), for the benchmarks that re-fit seasons outside the CLI."""

from __future__ import annotations

from pathlib import Path


def load_history(hdir: Path):
    """(history, loop rows or None): `hdir`'s races.csv and results.csv, and its loopstats.csv
    when there is one."""
    from nascar_pipeline.commands.backtest import _loop_rows
    from nascar_pipeline.core.backtest import history_from_tables
    from nascar_pipeline.ontology.parsers.history import parse_history

    h = history_from_tables(parse_history(hdir / "races.csv", hdir / "results.csv"))
    h["race_date"] = h["race_date"].astype(str)
    h = h[h["finish_position"].notna()]
    loop_csv = hdir / "loopstats.csv"
    return h, (_loop_rows(loop_csv, h) if loop_csv.exists() else None)
