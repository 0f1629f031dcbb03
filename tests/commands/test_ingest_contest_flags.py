"""`ingest contest` with the contest on the command line: validated by the contest file's parser
before any connection, its errors naming the flag, the payouts file and the payout row."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_cli as cli

RACE = "2026-test-speedway-400"
GOOD = [
    {"min_place": 1, "max_place": 1, "prize": 1000},
    {"min_place": 2, "max_place": 10, "prize": 100},
]
FLAGS = [
    "--contest-id", "dk-1", "--name", "Single Entry", "--entry-fee", "5",
    "--field-size", "100", "--max-entries", "1",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _no_neo4j(monkeypatch):
    # a valid contest gets as far as the connection: NEO4J_URI unset makes that a clear exit 2
    monkeypatch.delenv("NEO4J_URI", raising=False)


def test_flags_parse_then_connect(tmp_path, capsys):
    rc, _, err = cli(
        capsys, "ingest", "contest", "--race", RACE, *FLAGS, "--payouts", json.dumps(GOOD)
    )
    assert rc == 2 and "NEO4J_URI is not set" in err  # parsed and validated first


def test_malformed_payouts_file_names_flag_file_and_row(tmp_path, capsys):
    bad = tmp_path / "payouts.json"
    bad.write_text(json.dumps([*GOOD, {"min_place": 12, "max_place": 20, "prize": 50}]))
    rc, _, err = cli(capsys, "ingest", "contest", "--race", RACE, *FLAGS, "--payouts", bad)
    assert rc == 2
    assert f"--payouts {bad}" in err and "payouts[2]" in err and "min_place" in err, err
    assert "gap" in err


def test_inline_payouts_invalid_json_and_missing_flags(capsys):
    rc, _, err = cli(capsys, "ingest", "contest", "--race", RACE, *FLAGS, "--payouts", "[{")
    assert rc == 2 and "option --payouts inline JSON" in err and "invalid JSON" in err
    rc, _, err = cli(capsys, "ingest", "contest", "--race", RACE, "--contest-id", "dk-1")
    assert rc == 2 and "missing --name" in err and "--payouts" in err
    rc, _, err = cli(capsys, "ingest", "contest", "c.json", "--race", RACE, "--contest-id", "dk-1")
    assert rc == 2 and "not both" in err


def test_max_entries_over_field_size_names_the_field(capsys):
    args = [a if a != "1" else "500" for a in FLAGS]  # max entries 500 > field size 100
    rc, _, err = cli(
        capsys, "ingest", "contest", "--race", RACE, *args, "--payouts", json.dumps(GOOD)
    )
    assert rc == 2 and "max_entries" in err and "(command line" in err, err
