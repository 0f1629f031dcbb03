"""`nascar-pipeline export --entries DKEntries.csv`: DraftKings' entries file filled with the
race's stored portfolio (a lineup frame written straight to the storage: no fit needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.commands.export import entries_per_contest_file
from nascar_pipeline.core.dk_entries import filled_lineups, parse_entries
from nascar_pipeline.core.export import DRAFTKINGS_ENTRIES
from nascar_pipeline.core.lineups import draftkings_lineup_frame
from nascar_pipeline.core.slate import entry_rows
from nascar_pipeline.storage.layout import StorageLayout
from tests.support.cli import run_cli
from tests.support.dfs_assets import RACE, synthetic_snapshot
from tests.support.dk_files import dk_entries_text, dk_player_rows

GPP = ("NASCAR $100K Pit Stop [$20K to 1st]", "180001234", "$5")
SINGLE = ("NASCAR $25K Slingshot [Single Entry, $5K to 1st]", "180005678", "$3")


def _slate(snapshot):
    e = entry_rows(snapshot).sort_values("driver_id").reset_index(drop=True)
    return e.assign(projection=np.linspace(60, 10, len(e)))


def _lineups(slate, n, start=0):
    rows = [[(start + 2 * k + j) % len(slate) for j in range(6)] for k in range(n)]
    return draftkings_lineup_frame(np.array(rows), slate)


@pytest.fixture
def stored_race(tmp_path, monkeypatch):
    """A race's race_snapshot and lineup_portfolio (contest ids on the lineups) in a storage
    root, STORAGE_ROOT pointing at it, and a DKEntries.csv of the race's slate."""
    snapshot = synthetic_snapshot(np.random.default_rng(3), with_contest=False)
    slate = _slate(snapshot)
    portfolio = pd.concat(
        [
            _lineups(slate, 4).assign(contest_id="dk-180001234"),
            _lineups(slate, 1, start=7).assign(contest_id="dk-180005678"),
        ],
        ignore_index=True,
    )
    portfolio["lineup_id"] = np.arange(len(portfolio))
    root = tmp_path / "storage"
    layout = StorageLayout(root)
    layout.write_parquet(layout.asset_path("race_snapshot", RACE), snapshot)
    layout.write_parquet(layout.asset_path("lineup_portfolio", RACE), portfolio)
    monkeypatch.setenv("STORAGE_ROOT", str(root))
    entries = [(str(4_700_000_001 + i), *GPP, None) for i in range(4)]
    entries.append(("4700000005", *SINGLE, None))
    players = dk_player_rows(zip(slate["driver_name"], slate["dk_id"], slate["salary"]))
    path = tmp_path / "DKEntries.csv"
    path.write_bytes(dk_entries_text(entries, players).encode("utf-8"))
    return layout, slate, portfolio, path


def test_export_fills_the_entries_file_beside_the_portfolio(stored_race, capsys):
    layout, slate, portfolio, path = stored_race
    rc, out, err = run_cli(capsys, "export", "--race", RACE, "--entries", path)
    assert rc == 0, err
    target = layout.extra_path("lineup_portfolio", RACE, DRAFTKINGS_ENTRIES)
    assert "filled 5 DraftKings entries (contest 180001234: 4, contest 180005678: 1)" in out
    assert str(target) in out
    filled = target.read_bytes()
    assert filled.startswith(b"\xef\xbb\xbf") and filled.count(b"\r\n") == path.read_bytes().count(
        b"\r\n"
    )
    got = filled_lineups(filled)
    dk = [[str(r[f"d{j}_dk_id"]) for j in range(1, 7)] for _, r in portfolio.iterrows()]
    assert [list(ids) for _, _, ids in got] == dk  # each contest its own lineups, in order
    # everything but the roster cells as DraftKings wrote it
    before, after = parse_entries(path.read_bytes()), parse_entries(filled)
    assert [(e.entry_id, e.contest_name, e.contest_id, e.entry_fee) for e in before.entries] == [
        (e.entry_id, e.contest_name, e.contest_id, e.entry_fee) for e in after.entries
    ]
    assert before.players == after.players
    assert entries_per_contest_file(str(path)) == {"180001234": 4, "180005678": 1}


def test_export_entries_to_out_file(stored_race, tmp_path, capsys):
    _, _, _, path = stored_race
    out_file = tmp_path / "upload.csv"
    rc, out, err = run_cli(capsys, "export", "--race", RACE, "--entries", path, "--out", out_file)
    assert rc == 0, err
    assert str(out_file) in out and len(filled_lineups(out_file.read_bytes())) == 5


def test_export_refuses_a_file_of_another_slate_and_writes_nothing(stored_race, capsys):
    layout, slate, _, path = stored_race
    text = path.read_bytes().decode("utf-8").replace(str(slate["dk_id"].iloc[0]), "77700001")
    path.write_bytes(text.encode("utf-8"))
    rc, _, err = run_cli(capsys, "export", "--race", RACE, "--entries", path)
    assert rc == 2
    assert str(path) in err and "field ID: player id 77700001" in err and "another slate" in err
    assert not layout.extra_path("lineup_portfolio", RACE, DRAFTKINGS_ENTRIES).exists()


def test_export_refuses_more_entries_than_lineups(stored_race, capsys):
    layout, slate, portfolio, path = stored_race
    layout.write_parquet(
        layout.asset_path("lineup_portfolio", RACE), portfolio.iloc[:3].reset_index(drop=True)
    )
    rc, _, err = run_cli(capsys, "export", "--race", RACE, "--entries", path)
    assert rc == 2 and "contest 180001234 has 4 entries, the portfolio 3 lineups" in err
    assert "contest 180005678 has 1 entries, the portfolio 0 lineups" in err
    assert not layout.extra_path("lineup_portfolio", RACE, DRAFTKINGS_ENTRIES).exists()


def test_export_entries_usage_errors(stored_race, tmp_path, capsys):
    _, _, _, path = stored_race
    rc, _, err = run_cli(capsys, "export", "--race", RACE, "--entries", tmp_path / "none.csv")
    assert rc == 2 and "not found" in err
    rc, _, err = run_cli(capsys, "export", "--race", RACE, "--site", "fanduel", "--entries", path)
    assert rc == 2 and "--entries" in err
    rc, _, err = run_cli(capsys, "export", "--race", RACE)
    assert rc == 2 and "--out" in err
    rc, _, err = run_cli(capsys, "export", "--race", "2026-not-built", "--entries", path)
    assert rc == 2 and "lineup_portfolio is not materialized" in err
