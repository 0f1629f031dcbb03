"""`nascar-pipeline backtest`: the history CSVs default to NASCAR_SHARED_DATA/history (a setting,
not a guess at a sibling checkout); without either, a user error names both ways to fix it."""

from __future__ import annotations

from nascar_pipeline.cli import main


def test_history_defaults_to_the_shared_data_setting(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("NASCAR_SHARED_DATA", str(tmp_path))
    assert main(["backtest", "--season", "2025"]) == 2
    assert f"file {tmp_path}/history/races.csv: not found" in capsys.readouterr().err


def test_without_files_or_setting_the_error_says_how(monkeypatch, capsys):
    monkeypatch.delenv("NASCAR_SHARED_DATA", raising=False)
    assert main(["backtest", "--season", "2025"]) == 2
    err = capsys.readouterr().err
    assert "--races-csv" in err and "NASCAR_SHARED_DATA" in err


def test_explicit_files_win_over_the_setting(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("NASCAR_SHARED_DATA", str(tmp_path / "elsewhere"))
    races = tmp_path / "r.csv"
    rc = main(["backtest", "--season", "2025", "--races-csv", str(races), "--results-csv", "x"])
    assert rc == 2
    assert f"file {races}: not found" in capsys.readouterr().err
