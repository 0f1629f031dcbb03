"""`build --config FILE` carries the blend weights of the player's own numbers
(core/build_file.py): validated 0..1 naming file and field, handed to race_scenarios and
ownership_projections' run config, and a projection weight other than the stored scenarios'
re-runs race_scenarios (the fit re-used) while an ownership weight re-runs only the DFS assets.
No model fit: the selection and the run config are checked on their own."""

from __future__ import annotations

import pytest
import yaml

from nascar_pipeline.commands.build import (
    REUSABLE,
    build_run_config,
    choose_selection,
    scenario_weight_change,
    wanted_projection_weight,
)
from nascar_pipeline.core.build_file import UserWeights
from nascar_pipeline.errors import UserInputError
from tests.support.cli import run_cli

RACE = "2026-some-race"
JOB_ASSETS = [
    *REUSABLE,
    "driver_projections",
    "ownership_projections",
    "lineup_portfolio",
    "contest_simulation",
    "exposure_report",
]


class _AllFresh:
    def is_fresh(self, asset: str) -> bool:
        return True


def test_build_file_carries_weights_beside_the_steering(tmp_path):
    from nascar_pipeline.assets.portfolio import PortfolioConfig, config_steering, read_build_file

    top = tmp_path / "a.yaml"
    top.write_text(
        yaml.safe_dump({"n_lineups": 7, "user_projection_weight": 0.8, "user_ownership_weight": 0})
    )
    steering, weights = read_build_file(str(top))
    assert steering.n_lineups == 7
    assert (weights.user_projection_weight, weights.user_ownership_weight) == (0.8, 0.0)
    # the portfolio reads the same file for its steering and ignores the weights
    assert config_steering(PortfolioConfig(steering_file=str(top))).n_lineups == 7

    nested = tmp_path / "b.toml"
    nested.write_text("user_ownership_weight = 0.25\n[steering]\nn_lineups = 3\n")
    steering, weights = read_build_file(str(nested))
    assert steering.n_lineups == 3 and weights.user_ownership_weight == 0.25
    assert weights.user_projection_weight is None
    assert weights.run_config_ops() == {"ownership_projections": {"user_ownership_weight": 0.25}}


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (1.5, "user_projection_weight"),
        (-0.1, "user_ownership_weight"),
        ("lots", "user_ownership_weight"),
    ],
)
def test_bad_weight_is_refused_naming_file_and_field(tmp_path, capsys, value, field):
    from nascar_pipeline.assets.portfolio import read_build_file

    f = tmp_path / "steer.yaml"
    f.write_text(yaml.safe_dump({"n_lineups": 5, field: value}))
    with pytest.raises(UserInputError, match=rf"steering file .*steer.yaml: {field}: "):
        read_build_file(str(f))
    # the CLI refuses it before anything runs (no race lookup, no Dagster home)
    rc, _, err = run_cli(capsys, "build", "--race", RACE, "--config", f)
    assert rc == 2 and "steer.yaml" in err and field in err


def test_weights_go_to_the_assets_that_run():
    base = {
        "ops": {
            "race_scenarios": {"config": {"scenarios": 1000, "user_projection_weight": 0.3}},
            "ownership_projections": {"config": {"field_size": 500}},
        }
    }
    weights = UserWeights(user_projection_weight=0.9, user_ownership_weight=0.4)
    full = build_run_config(base, JOB_ASSETS, None, None, False, weights)["ops"]
    assert full["race_scenarios"]["config"] == {"scenarios": 1000, "user_projection_weight": 0.9}
    assert full["ownership_projections"]["config"] == {
        "field_size": 500,
        "user_ownership_weight": 0.4,
    }
    # a steering re-build does not run race_scenarios: no config for it (Dagster refuses that)
    dfs = [a for a in JOB_ASSETS if a not in REUSABLE and a != "driver_projections"]
    ops = build_run_config(base, dfs, None, None, False, weights)["ops"]
    assert "race_scenarios" not in ops
    assert ops["ownership_projections"]["config"]["user_ownership_weight"] == 0.4
    assert wanted_projection_weight(base, weights) == 0.9
    assert wanted_projection_weight(base, UserWeights()) == 0.3
    assert wanted_projection_weight({}, None) is None


def test_projection_weight_change_reruns_scenarios_not_the_fit():
    selected, reused = choose_selection(_AllFresh(), JOB_ASSETS, False)
    assert reused == [*REUSABLE, "driver_projections"]
    assert "ownership_projections" in selected  # an ownership weight change runs here
    selected, reused = choose_selection(_AllFresh(), JOB_ASSETS, False, ("race_scenarios",))
    assert reused == ["race_snapshot", "race_model_fit"]
    assert selected[:2] == ["race_scenarios", "driver_projections"]
    assert "lineup_portfolio" in selected


def test_stored_scenarios_weight_decides_the_rerun():
    from dagster import AssetMaterialization, DagsterInstance

    with DagsterInstance.ephemeral() as instance:
        assert scenario_weight_change(instance, RACE, 0.7) == ""  # nothing stored yet

        def store(**meta):
            instance.report_runless_asset_event(
                AssetMaterialization("race_scenarios", partition=RACE, metadata=meta)
            )

        store(user_projections=False)  # no projections of the player's: the weight is moot
        assert scenario_weight_change(instance, RACE, 0.7) == ""
        store(user_projections=True, user_blend_weight=0.5)
        assert scenario_weight_change(instance, RACE, None) == ""  # the default, 0.5
        assert scenario_weight_change(instance, RACE, 0.5) == ""
        why = scenario_weight_change(instance, RACE, 0.7)
        assert "user_projection_weight 0.7" in why and "used 0.5" in why
        assert scenario_weight_change(instance, "another-race", 0.7) == ""
