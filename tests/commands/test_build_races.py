"""`build` and `races` on the embedded default in a temp home: the build is a race_job run in the
instance the UI reads, with the sensor's tags; a re-build after a steering change re-uses the
model fit and the scenarios; `races` lists what is built and what is stale; an unknown race key
exits 2 with suggestions. One model fit (the model tests' world and settings, which pass the
convergence gate), given through the sensor's run config file (NASCAR_RACE_RUN_CONFIG)."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from tests.support.api import seed_world
from tests.support.cli import run_cli
from tests.support.run_configs import FAST_DFS_OPS

FIT = {"draws": 750, "warmup": 400, "chains": 4, "svi_steps": 1500, "target_accept": 0.95}
# The sensor's run config: the fit the gate passes, few scenarios, the fast DFS settings (the
# lineup count left to the steering file: a run-config value would override the file's).
PORTFOLIO = {
    k: v for k, v in FAST_DFS_OPS["lineup_portfolio"]["config"].items() if k != "n_lineups"
}
RUN_CONFIG = {
    "ops": {
        "race_model_fit": {"config": FIT},
        "race_scenarios": {"config": {"scenarios": 1000, "seed": 1}},
        **FAST_DFS_OPS,
        "lineup_portfolio": {"config": {**PORTFOLIO, "fanduel_lineups": 0}},
    }
}
pytestmark = pytest.mark.timeout(1800)  # one model fit and two builds on 2 shared cores


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A pipeline home with a seeded world; the environment a user's shell would have."""
    root = tmp_path_factory.mktemp("build-home")
    upcoming, past = seed_world(root / "world", seed=3)
    (root / "run.yaml").write_text(yaml.safe_dump(RUN_CONFIG))
    mp = pytest.MonkeyPatch()
    for var in ("DAGSTER_HOME", "STORAGE_ROOT", "NASCAR_WORLD_DIR", "NEO4J_URI"):
        mp.delenv(var, raising=False)
    mp.setenv("NASCAR_PIPELINE_HOME", str(root))
    mp.setenv("NASCAR_RACE_RUN_CONFIG", str(root / "run.yaml"))
    yield root, upcoming, past
    mp.undo()


def _steering(root, name: str, **fields):
    path = root / name
    path.write_text(yaml.safe_dump(fields))
    return path


def _build_runs(root):
    from dagster import DagsterInstance, RunsFilter

    with DagsterInstance.from_config(str(root / "dagster")) as instance:
        records = instance.get_run_records(RunsFilter(job_name="race_job"), ascending=True)
        return [
            (
                r.dagster_run,
                r.dagster_run.status.value,
                instance.get_run_stats(r.dagster_run.run_id),
            )
            for r in records
        ]


def _selected(run) -> set[str]:
    return {k.path[-1] for k in run.asset_selection} if run.asset_selection else set()


def test_unknown_race_key_exits_2_with_suggestions(home, capsys):
    root, upcoming, _ = home
    typo = upcoming[:-1] + "x"
    rc, out, err = run_cli(capsys, "build", "--race", typo)
    assert rc == 2
    assert f"--race {typo}" in err and "did you mean" in err and upcoming in err


@pytest.mark.slow
def test_build_then_steering_rebuild_reuses_fit_and_races_lists(
    home, capsys, tmp_path, monkeypatch
):
    from nascar_pipeline.automation.policies import PRIORITY_LIVE, race_run_tags
    from nascar_pipeline.commands.backfill import list_source_races
    from nascar_pipeline.storage.layout import StorageLayout

    root, upcoming, past = home
    slate_hash = str(list_source_races().set_index("race_key").loc[upcoming, "content_hash"])

    first = _steering(root, "steering.yaml", n_lineups=4, global_max_exposure=0.75)
    rc, out, err = run_cli(capsys, "build", "--race", upcoming, "--config", first)
    assert rc == 0, out + err
    # quiet: stage lines, the report and paths; no Dagster DEBUG events, no preview warnings
    assert "race_model_fit           started" in out and "done in" in out
    assert "DEBUG" not in out + err and "PreviewWarning" not in out + err
    assert "DraftKings upload" in out and "FanDuel" not in out
    [(run, status, _)] = _build_runs(root)
    assert status == "SUCCESS"
    expected = race_run_tags(upcoming, slate_hash, "build", PRIORITY_LIVE)
    assert {k: run.tags.get(k) for k in expected} == expected
    assert run.tags["dagster/partition"] == upcoming
    assert not run.asset_selection or "race_model_fit" in _selected(run)

    layout = StorageLayout(str(root / "storage"))
    assert len(layout.read_asset("lineup_portfolio", upcoming)) == 4

    # `races` from another folder: found through the home, the new race fully built and fresh
    monkeypatch.chdir(tmp_path)
    rc, out, _ = run_cli(capsys, "races", "--why")
    assert rc == 0
    line = next(x for x in out.splitlines() if x.startswith(upcoming))
    assert " all" in line and "stale" not in line
    past_line = next(x for x in out.splitlines() if x.startswith(past))
    assert "(has results)" in past_line

    # the steering changes: only the DFS assets run; fit and scenarios are re-used
    second = _steering(root, "steering2.yaml", n_lineups=3, global_max_exposure=0.7)
    rc, out, err = run_cli(capsys, "build", "--race", upcoming, "--config", second)
    assert rc == 0, out + err
    assert "re-using race_snapshot, race_model_fit, race_scenarios" in out
    runs = _build_runs(root)
    assert len(runs) == 2
    run2, status2, _ = runs[1]
    assert status2 == "SUCCESS"
    assert {k: run2.tags.get(k) for k in expected} == expected
    chosen = _selected(run2)
    assert {"race_snapshot", "race_model_fit", "race_scenarios"}.isdisjoint(chosen)
    assert {"ownership_projections", "lineup_portfolio", "contest_simulation"} <= chosen
    portfolio = layout.read_asset("lineup_portfolio", upcoming)
    assert len(portfolio) == 3
    kept = layout.read_bytes(layout.extra_path("lineup_portfolio", upcoming, "steering.json"))
    assert b'"n_lineups": 3' in kept and b'"global_max_exposure": 0.7' in kept

    # `races` says what is stale: the fit is older than a newer snapshot would make it
    rc, out, _ = run_cli(capsys, "races")
    line = next(x for x in out.splitlines() if x.startswith(upcoming))
    assert " all" in line and "stale" not in line


def test_races_marks_stale_when_an_upstream_asset_is_rewritten():
    """automation/freshness.py: an asset written before its upstream's newer write is stale,
    and so is everything below it; a changed slate makes every asset stale."""
    from dagster import AssetKey, AssetMaterialization, DagsterInstance

    from nascar_pipeline.automation.freshness import race_asset_states

    keys = [AssetKey(n) for n in ("race_snapshot", "race_model_fit", "race_scenarios")]
    parents = {keys[0]: [], keys[1]: [keys[0]], keys[2]: [keys[1], keys[0]]}
    with DagsterInstance.ephemeral() as instance:

        def write(key, data_version=None):
            tags = {"dagster/data_version": data_version} if data_version else None
            instance.report_runless_asset_event(
                AssetMaterialization(asset_key=key, partition="r1", tags=tags)
            )

        write(keys[0], "h1")
        write(keys[1])
        write(keys[2])
        fresh = race_asset_states(instance, {"r1": "h1"}, parents, {})["r1"]
        assert fresh.fresh == ["race_snapshot", "race_model_fit", "race_scenarios"]
        write(keys[1])  # a re-fit: the scenarios are older than it
        states = race_asset_states(instance, {"r1": "h1"}, parents, {})["r1"]
        assert list(states.stale) == ["race_scenarios"]
        changed = race_asset_states(instance, {"r1": "h2"}, parents, {})["r1"]
        assert set(changed.stale) == {"race_snapshot", "race_model_fit", "race_scenarios"}
        assert pd.Series(list(changed.stale.values())).str.contains("slate changed").all()
