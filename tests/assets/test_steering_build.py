"""The player's steering through Dagster (lineup_portfolio), the field-model ownership
(ownership_projections) and a degenerate ownership input, on the synthetic upstream files of
tests/support/dfs_assets.py (30 drivers, ids 1000..1029, salaries descending with the id)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from dagster import DagsterInstance

from nascar_pipeline.core.steering import Steering, frame_violations
from tests.support.dfs_assets import RACE, run_dfs_assets, write_upstream
from tests.support.races import check_results

LOCK = 1005
EXCLUDED = [1002, 1003]
GROUP = {"name": "Team G", "drivers": [1010, 1011, 1012, 1013, 1014], "at_most": 1}
EXPOSURE = {"driver": 1020, "min": 0.5}
CAPPED = {"driver": 1008, "max": 0.25}


def _metadata(result) -> dict:
    return {
        e.asset_key.path[-1]: e.event_specific_data.materialization.metadata
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }


def _log_messages(instance, result) -> list[str]:
    """The run's log lines (context.log included)."""
    return [r.user_message for r in instance.all_logs(result.run_id) if r.user_message]


@pytest.fixture(scope="module")
def steered(tmp_path_factory):
    """A build steered by a YAML file (excludes, a group, exposures) and the run config (a lock,
    the number of lineups, max_shared): the run config's fields and the file's merge."""
    root = tmp_path_factory.mktemp("steered")
    layout = write_upstream(root)
    f = root / "steering.yaml"
    f.write_text(
        "steering:\n"
        f"  exclude: {EXCLUDED}\n"
        f"  exposures: [{json.dumps(EXPOSURE)}, {json.dumps(CAPPED)}]\n"
        f"  groups: [{json.dumps(GROUP)}]\n"
        "  global_max_exposure: 0.5\n"
    )
    instance = DagsterInstance.ephemeral()
    result = run_dfs_assets(
        root,
        {
            "lineup_portfolio": {
                "steering_file": str(f),
                "lock": [LOCK],
                "n_lineups": 8,
                "max_shared": 3,
                "fanduel_lineups": 0,
            }
        },
        instance=instance,
    )
    return root, layout, result, instance


def test_steering_holds_in_every_lineup(steered):
    root, layout, result, _ = steered
    checks = check_results(result)
    assert result.success and all(checks.values()), checks
    port = layout.read_asset("lineup_portfolio", RACE)
    assert len(port) == 8
    ids = port[[f"d{j}_driver_id" for j in range(1, 7)]].to_numpy(np.int64)
    sets = [set(r.tolist()) for r in ids]
    assert all(LOCK in s for s in sets)
    assert not any(set(EXCLUDED) & s for s in sets)
    assert all(len(s & set(GROUP["drivers"])) <= 1 for s in sets)
    assert sum(EXPOSURE["driver"] in s for s in sets) >= 4  # min 0.5 of 8
    assert sum(CAPPED["driver"] in s for s in sets) <= 2  # max 0.25 of 8
    counts = pd.Series(ids.ravel()).value_counts().drop(LOCK)
    assert counts.max() <= 4  # the file's global max 0.5 of 8 (the lock is in every lineup)
    assert all(len(a & b) <= 3 for i, a in enumerate(sets) for b in sets[:i])
    assert (port["salary"] >= 45_000).all()
    # the steering kept beside the asset is the merged one, and the check proved it
    kept = Steering.model_validate_json(
        (root / "lineup_portfolio" / f"{RACE}.steering.json").read_text()
    )
    assert kept.lock == [LOCK] and kept.exclude == EXCLUDED and kept.max_shared == 3
    assert kept.global_max_exposure == 0.5 and [g.name for g in kept.groups] == ["Team G"]
    assert frame_violations(port, kept) == []
    meta = _metadata(result)["lineup_portfolio"]
    assert meta["steering"].value["lock"] == [LOCK]
    assert meta["shortfall_reason"].value == "none"


def test_progress_in_the_run_log(steered):
    _, _, result, instance = steered
    text = "\n".join(_log_messages(instance, result))
    for stage in (
        "ownership model:",
        "steering: 8 lineups",
        "MCMC:",
        "candidates:",
        "chosen: 8 of 8",
    ):
        assert stage in text, stage
    assert "contest: field drawn" in text and "chunks" in text


def test_infeasible_steering_fails_before_heavy_work(tmp_path):
    root = tmp_path / "store"
    write_upstream(root, S=1200)
    instance = DagsterInstance.ephemeral()
    result = run_dfs_assets(
        root,
        {
            "lineup_portfolio": {
                "lock": [1000, 1001, 1002],
                "exclude": [1001],
                "n_lineups": 20,
                "global_max_exposure": 0.1,
                "fanduel_lineups": 0,
            }
        },
        instance=instance,
    )
    assert not result.success
    failure = next(
        e for e in result.all_events if e.event_type_value == "STEP_FAILURE"
    ).event_specific_data.error
    text = failure.message + "".join(c.message for c in [failure.cause] if c)
    assert "steering cannot be met" in text
    assert "driver Driver 1 (1001) is both locked and excluded" in text
    assert "exposure caps allow" in text and "global_max_exposure 0.1 x 20 lineups" in text
    messages = "\n".join(_log_messages(instance, result))
    assert "field:" not in messages and "MCMC:" not in messages  # refused before them
    assert not (root / "lineup_portfolio" / f"{RACE}.parquet").exists()


def test_blocking_check_catches_a_violating_lineup(steered, tmp_path):
    """A stored portfolio that breaks its steering (an excluded driver swapped in) fails the
    blocking check, run alone on the stored asset."""
    import shutil

    from nascar_pipeline.storage.layout import StorageLayout

    src, _, _, _ = steered
    root = tmp_path / "copy"
    shutil.copytree(src, root)
    layout = StorageLayout(root)
    port = layout.read_asset("lineup_portfolio", RACE)
    bad = port.copy()
    slot = next(
        j for j in range(1, 7) if bad.loc[0, f"d{j}_driver_id"] != LOCK
    )  # replace a free driver of lineup 0 by an excluded one (same salary, so only steering)
    bad.loc[0, f"d{slot}_driver_id"] = EXCLUDED[0]
    layout.write_parquet(layout.asset_path("lineup_portfolio", RACE), bad)
    from types import SimpleNamespace

    from nascar_pipeline.assets.portfolio import lineup_portfolio_valid
    from nascar_pipeline.resources.storage import StorageResource

    # the check's own function on the stored frame and the steering stored beside it (Dagster
    # cannot run a partitioned check without its asset in the selection)
    check_fn = lineup_portfolio_valid.node_def.compute_fn.decorated_fn
    ev = check_fn(
        SimpleNamespace(partition_key=RACE),
        StorageResource(root=str(root)),
        layout.read_asset("lineup_portfolio", RACE),
    )
    assert not ev.passed
    problems = ev.metadata["problems"].value
    assert any("excluded driver" in p and str(EXCLUDED[0]) in p for p in problems), problems
    assert ev.metadata["steering_violations"].value >= 1
    # the stored, unchanged portfolio passes the same check
    layout.write_parquet(layout.asset_path("lineup_portfolio", RACE), port)
    ok = check_fn(SimpleNamespace(partition_key=RACE), StorageResource(root=str(root)), port)
    assert ok.passed, ok.metadata["problems"].value


def test_ownership_has_reasons_and_sane_bounds(steered):
    _, layout, result, _ = steered
    own = layout.read_asset("ownership_projections", RACE)
    assert own["own_pct"].sum() == pytest.approx(600.0)
    assert own["own_pct"].between(0, 100).all()
    assert set(own["tier"]) <= {"top", "mid", "bottom"}
    # a reason where a feature stands out (the studs the field pays up for here); '' elsewhere
    assert own["reasons"].notna().all() and (own["reasons"].str.len() > 0).any()
    free = ~own["overridden"]
    assert (own.loc[free, "own_pct"] <= own.loc[free, "bound_pct"] + 1e-6).all()
    cheap = own.nsmallest(5, "salary")
    assert (cheap["own_pct"] <= cheap["bound_pct"] + 1e-6).all()
    meta = _metadata(result)["ownership_projections"]
    assert meta["model"].value["source"].startswith("fitted on")
    assert meta["implied_field_lineup_salary"].value >= 46_000 - 1
    assert isinstance(meta["warnings"].value, list)
    assert check_results(result)["ownership_totals_valid"] is True


def _degenerate_run(tmp_path, n_cheapest: int, pct: float):
    root = tmp_path / "store"
    layout = write_upstream(root, S=1200)
    snap = layout.read_asset("race_snapshot", RACE)
    e = snap[snap["role"] == "entry"].sort_values("salary")
    cheapest = e["driver_name"].head(n_cheapest).tolist()
    result = run_dfs_assets(
        root,
        {
            "ownership_projections": {"overrides": {n: pct for n in cheapest}},
            "lineup_portfolio": {"fanduel_lineups": 0},
        },
    )
    return layout, result, cheapest


def test_degenerate_ownership_still_gets_field_portfolio_and_simulation(tmp_path):
    """Most of the ownership on the minimum-priced drivers (overrides: 4 x 90 % of 600 %): the
    rest is tilted toward salary until the field's implied lineup reaches field_min_salary, with
    the warning in the metadata, and the race still gets a field, a portfolio and a contest
    simulation."""
    layout, result, cheapest = _degenerate_run(tmp_path, 4, 90.0)
    checks = check_results(result)
    assert result.success, checks
    assert all(checks.values()), checks
    meta = _metadata(result)
    warnings = meta["ownership_projections"]["warnings"].value
    assert any("tilted toward salary" in w for w in warnings), warnings
    own = layout.read_asset("ownership_projections", RACE).set_index("driver_name")
    assert all("pinned at 90 % by override" in own.loc[n, "reasons"] for n in cheapest)
    assert len(layout.read_asset("lineup_portfolio", RACE)) > 0
    assert len(layout.read_asset("contest_simulation", RACE)) > 0


def test_all_ownership_pinned_on_min_price_drivers_still_gets_a_field(tmp_path):
    """6 x 95 % of 600 % pinned on the six cheapest drivers (the tilt cannot move pinned
    drivers): no field drawn from it reaches field_min_salary, so the field is built with the
    floor and ownership adjusted, the warnings in the run log and both assets' metadata, and the
    race gets its portfolio and simulation."""
    layout, result, _ = _degenerate_run(tmp_path, 6, 95.0)
    checks = check_results(result)
    assert result.success and all(checks.values()), checks
    meta = _metadata(result)
    for asset in ("lineup_portfolio", "contest_simulation"):
        warnings = meta[asset]["field_warnings"].value
        assert warnings and "field_min_salary 46,000" in warnings[0], warnings
    assert len(layout.read_asset("lineup_portfolio", RACE)) > 0
    assert len(layout.read_asset("contest_simulation", RACE)) > 0


def test_steering_file_and_run_config_map_onto_one_model(tmp_path):
    """TOML (or YAML) file and run config: the file replaces the defaults, a run-config field set
    away from its default replaces the file's; global max exposure unset: 0.6, or 1.0 for
    single-entry builds (n <= 3)."""
    from nascar_pipeline.assets.portfolio import PortfolioConfig, config_steering
    from nascar_pipeline.core.lineup_search import default_global_max_exposure
    from nascar_pipeline.errors import UserInputError

    assert [default_global_max_exposure(n) for n in (1, 2, 3, 4, 20)] == [1, 1, 1, 0.6, 0.6]
    f = tmp_path / "steer.toml"
    f.write_text(
        "n_lineups = 12\nexclude = [1002]\ntaste = 0.5\n"
        '[[groups]]\nname = "Ford"\ndrivers = [1010, 1011, 1012]\nat_least = 1\n'
        "[[exposures]]\ndriver = 1020\nmax = 0.3\n"
    )
    s = config_steering(PortfolioConfig(steering_file=str(f), taste=0.2))
    assert (s.n_lineups, s.exclude, s.taste, s.global_max_exposure) == (12, [1002], 0.2, 0.6)
    assert s.groups[0].name == "Ford" and s.exposures[0].max == 0.3
    assert (s.salary_floor, s.max_shared) == (45_000, 4)  # the asset's defaults, not the file's
    single = config_steering(PortfolioConfig(n_lineups=2))
    assert single.global_max_exposure == 1.0
    assert (
        config_steering(PortfolioConfig(n_lineups=2, global_max_exposure=0.5)).global_max_exposure
        == 0.5
    )
    # the run config's nested records validate as the core model's
    cfg = PortfolioConfig(
        exposures=[{"driver": 1020, "min": 0.1, "max": 0.4}],
        groups=[{"name": "G", "drivers": [1, 2], "at_most": 1}],
    )
    assert config_steering(cfg).exposures[0].min == 0.1
    with pytest.raises(UserInputError, match="lineup_portfolio steering: .*min_exposure 0.5 > max"):
        config_steering(PortfolioConfig(exposures=[{"driver": 1020, "min": 0.5, "max": 0.2}]))
    bad = tmp_path / "bad.yaml"
    bad.write_text("lokc: [1000]\n")
    with pytest.raises(UserInputError, match=r"steering file .*bad.yaml: lokc"):
        config_steering(PortfolioConfig(steering_file=str(bad)))
    with pytest.raises(UserInputError, match=r"steering file .*missing.yaml"):
        config_steering(PortfolioConfig(steering_file=str(tmp_path / "missing.yaml")))


def test_single_entry_build_gets_its_lineups(tmp_path):
    """n_lineups 2 with no global max asked for: 1.0 (0.6 would allow one lineup per driver)."""
    root = tmp_path / "store"
    layout = write_upstream(root, S=1200)
    result = run_dfs_assets(
        root, {"lineup_portfolio": {"n_lineups": 2, "fanduel_lineups": 0, "exact_candidates": 10}}
    )
    assert result.success and all(check_results(result).values())
    assert len(layout.read_asset("lineup_portfolio", RACE)) == 2
    meta = _metadata(result)["lineup_portfolio"]
    assert meta["steering"].value["global_max_exposure"] == 1.0
    assert meta["shortfall_reason"].value == "none"
