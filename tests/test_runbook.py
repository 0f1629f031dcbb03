"""The README's race week runbook, run as written: its shell block is read from README.md and run
by bash, the `nascar-pipeline` commands as the installed console script, against the real Neo4j
of tests/support (in place of the block's first two lines, which start a Neo4j in Docker and
point the pipeline at it) in a temp home and a temp working folder (where `tests/` is the
repository's). The race-week replay on tests/data/raceweek: the steering holds in every lineup
of both builds, each contest has its portfolio and its simulation, the filled DKEntries file
has every entry filled and nothing else changed, the re-build after the steering change re-used
the fit and the scenarios, the exposure report is in Parquet, in the asset's metadata and over
the API. One model fit: small settings that pass the convergence gate, given through
NASCAR_RACE_RUN_CONFIG as the README says."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.run_configs import FAST_DFS_OPS
from tests.support.services.neo4j_server import clear_database

REPO = Path(__file__).resolve().parents[1]
RACEWEEK = REPO / "tests" / "data" / "raceweek"
# The lines the test replaces with its own Neo4j (the session fixture's server).
NEO4J_LINES = ("docker run ", "export NEO4J_")

FIT = {"draws": 750, "warmup": 400, "chains": 4, "svi_steps": 1500, "target_accept": 0.95}
SEARCH = {k: v for k, v in FAST_DFS_OPS["lineup_portfolio"]["config"].items() if k != "n_lineups"}
RUN_CONFIG = {
    "ops": {
        "race_model_fit": {"config": FIT},
        "race_scenarios": {"config": {"scenarios": 1000, "seed": 1}},
        # the search small; the lineup counts are the steering's and the entries file's
        "lineup_portfolio": {"config": {**SEARCH, "field_size": 2000, "fanduel_lineups": 0}},
        "contest_simulation": {"config": {"field_size": 2000}},
    }
}
# two builds (one model fit) and the ingests, as subprocesses, on 2 shared cores
pytestmark = pytest.mark.timeout(2400)


def runbook_block(readme: str) -> list[str]:
    """The shell lines of the README's "Race week runbook" section (its ```sh block)."""
    section = readme.split("## Race week runbook", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "README.md: the race week runbook has no ```sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_runbook_block_is_the_race_week():
    lines = runbook_block((REPO / "README.md").read_text())
    assert [ln for ln in lines if ln.startswith(NEO4J_LINES)] == lines[:2]
    commands = [ln.split()[1] for ln in lines if ln.startswith("nascar-pipeline ")]
    assert commands == [
        "ontology",
        *["ingest"] * 7,
        "races",
        "build",
        "export",
        "build",
        "export",
    ]


@pytest.fixture(scope="module")
def race_week(neo4j_server, tmp_path_factory):
    """The runbook run as written; returns (working folder, home, the race key, output)."""
    work = tmp_path_factory.mktemp("runbook-work")
    home = tmp_path_factory.mktemp("runbook-home")
    (work / "tests").symlink_to(REPO / "tests")
    (home / "run.yaml").write_text(yaml.safe_dump(RUN_CONFIG))
    with neo4j_server.driver() as d:
        clear_database(d)  # "an empty Neo4j"
    lines = runbook_block((REPO / "README.md").read_text())
    script = "\n".join(["set -euo pipefail", "set -x", *lines[2:]]) + "\n"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DAGSTER_HOME", "STORAGE_ROOT", "NASCAR_WORLD_DIR", "NASCAR_RACE_RUN_CONFIG")
    }
    env.update(neo4j_server.env())
    env.update(
        NASCAR_PIPELINE_HOME=str(home),
        NASCAR_RACE_RUN_CONFIG=str(home / "run.yaml"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    proc = subprocess.run(
        ["bash", "-c", script],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    race = re.search(r"^RACE=(\S+)$", "\n".join(lines), re.M).group(1)
    return work, home, race, output


@pytest.mark.slow
def test_race_week_replay(race_week, neo4j_server):
    from dagster import AssetKey, AssetRecordsFilter, DagsterEventType, DagsterInstance, RunsFilter
    from fastapi.testclient import TestClient

    from api.app import create_app
    from nascar_pipeline.core.dk_entries import bare_contest_id
    from nascar_pipeline.core.rules import DRAFTKINGS
    from nascar_pipeline.storage.layout import StorageLayout
    from tests.support.api import api_settings, auth

    work, home, race, output = race_week
    # quiet: no Dagster preview warnings or DEBUG events; no FanDuel notes for a DK player
    assert "PreviewWarning" not in output and "BetaWarning" not in output
    assert " - DEBUG - " not in output and "FanDuel" not in output
    assert race in output  # `races` listed the new race's key

    layout = StorageLayout(str(home / "storage"))
    contests = [
        c["contest_id"] for c in json.loads((RACEWEEK / "contests.json").read_text())["contests"]
    ]

    # steering: the second build's (taste 0.9) holds in every lineup of every contest
    steering_text = (work / "my-steering.yaml").read_text()
    assert "taste: 0.9" in steering_text
    steering = yaml.safe_load(steering_text)
    portfolio = layout.read_asset("lineup_portfolio", race)
    kept = json.loads(
        layout.read_bytes(layout.extra_path("lineup_portfolio", race, "steering.json"))
    )
    assert kept["taste"] == 0.9 and kept["lock"] == steering["lock"]
    slots = [f"d{j}_driver_id" for j in range(1, DRAFTKINGS.roster_size + 1)]
    lineups = [set(int(x) for x in row) for row in portfolio[slots].to_numpy()]
    assert lineups and all(set(steering["lock"]) <= ids for ids in lineups)
    assert not any(set(steering["exclude"]) & ids for ids in lineups)
    for group in steering["groups"]:
        assert all(len(set(group["drivers"]) & ids) <= group["at_most"] for ids in lineups)
    for cid, rows in portfolio.groupby("contest_id"):
        ids = [set(int(x) for x in row) for row in rows[slots].to_numpy()]
        for limit in steering["exposures"]:
            held = sum(limit["driver"] in x for x in ids)
            assert held <= limit["max"] * len(ids) + 1e-9, (cid, limit, held)
        assert all(ids.count(x) <= 1 for x in ids)  # no lineup twice in a contest

    # each contest: its portfolio (as many lineups as its entries) and its simulation
    entries = list(csv.reader(io.StringIO((RACEWEEK / "DKEntries.csv").read_text("utf-8-sig"))))
    per_contest = {}
    for row in entries[1:]:
        if row and row[0].strip():
            per_contest[row[2]] = per_contest.get(row[2], 0) + 1
    counts = portfolio["contest_id"].map(bare_contest_id).value_counts().to_dict()
    assert counts == per_contest
    assert {bare_contest_id(c) for c in contests} == set(counts)
    simulation = layout.read_asset("contest_simulation", race)
    assert set(simulation["contest_id"]) == set(portfolio["contest_id"])

    # the entries file: every entry filled with the lineups, every other byte as DK wrote it
    original = (RACEWEEK / "DKEntries.csv").read_bytes()
    filled = (work / "DKEntries-upload.csv").read_bytes()
    assert filled.startswith(b"\xef\xbb\xbf") == original.startswith(b"\xef\xbb\xbf")
    old_rows = list(csv.reader(io.StringIO(original.decode("utf-8-sig"), newline="")))
    new_rows = list(csv.reader(io.StringIO(filled.decode("utf-8-sig"), newline="")))
    assert len(old_rows) == len(new_rows)
    assert original.count(b"\r\n") == filled.count(b"\r\n")
    d_cols = [i for i, h in enumerate(old_rows[0]) if h == "D"]
    assert len(d_cols) == DRAFTKINGS.roster_size
    uploaded = []
    for old, new in zip(old_rows, new_rows, strict=True):
        is_entry = bool(old and old[0].strip()) and old is not old_rows[0]
        if not is_entry:
            assert new == old
            continue
        assert [c for i, c in enumerate(new) if i not in d_cols] == [
            c for i, c in enumerate(old) if i not in d_cols
        ]
        cells = [new[i] for i in d_cols]
        assert all(re.fullmatch(r".+ \(\d+\)", c) for c in cells), cells
        uploaded.append(sorted(int(re.search(r"\((\d+)\)$", c).group(1)) for c in cells))
    assert len(uploaded) == sum(per_contest.values())
    dk_slots = [f"d{j}_dk_id" for j in range(1, DRAFTKINGS.roster_size + 1)]
    if set(dk_slots) <= set(portfolio.columns):
        built = sorted(sorted(int(x) for x in row) for row in portfolio[dk_slots].to_numpy())
        assert sorted(uploaded) == built

    # the report: Parquet, the asset's metadata, the API
    report = layout.read_asset("exposure_report", race)
    assert {bare_contest_id(c) for c in report["contest_id"].astype(str)} == set(per_contest)
    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        runs = instance.get_run_records(RunsFilter(job_name="race_job"), ascending=True)
        assert [r.dagster_run.status.value for r in runs] == ["SUCCESS", "SUCCESS"]
        first, second = (r.dagster_run for r in runs)
        assert first.tags["nascar/race"] == race and first.tags["nascar/trigger"] == "build"
        reran = {k.path[-1] for k in second.asset_selection or ()}
        assert reran and {"race_model_fit", "race_scenarios"}.isdisjoint(reran)
        assert {"lineup_portfolio", "contest_simulation", "exposure_report"} <= reran
        record = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey("exposure_report"), asset_partitions=[race]),
            limit=1,
        ).records[0]
        meta = record.asset_materialization.metadata
        assert record.run_id == second.run_id and len(meta) >= 2
        # every blocking check of both builds passed (the portfolio's proves the steering)
        for run in (first, second):
            checks = [
                e.dagster_event.asset_check_evaluation_data
                for e in instance.all_logs(
                    run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
                )
            ]
            assert "lineup_portfolio_valid" in {c.check_name for c in checks}
            blocking = [c for c in checks if str(c.severity.value) == "ERROR"]
            assert all(c.passed for c in blocking), [c.check_name for c in blocking if not c.passed]
    with TestClient(create_app(api_settings(str(home / "storage")))) as client:
        answer = client.get(f"/v1/races/{race}/exposure-report/drivers", headers=auth())
        assert answer.status_code == 200, answer.text
        assert answer.json()
