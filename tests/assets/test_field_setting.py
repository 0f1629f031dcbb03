"""One setting name per concept: the simulated field's salary floor is `field_min_salary`,
defined once (assets/field_config.py) and read by every asset that draws or shapes the field; an
error about it names the asset's setting that failed."""

from __future__ import annotations

import numpy as np
import pytest


def test_one_field_floor_setting_for_every_dfs_asset():
    from nascar_pipeline.assets.contest import ContestConfig
    from nascar_pipeline.assets.field_config import FIELD_MIN_SALARY, FieldConfig
    from nascar_pipeline.assets.ownership import OwnershipConfig
    from nascar_pipeline.assets.portfolio import PortfolioConfig

    for cfg in (OwnershipConfig, PortfolioConfig, ContestConfig):
        assert issubclass(cfg, FieldConfig)
        assert cfg().field_min_salary == FIELD_MIN_SALARY == 46_000
        assert "min_salary" not in cfg.model_fields  # the old, ambiguous name is gone
    # our own lineups' floor is a steering field with its own name
    assert PortfolioConfig().salary_floor == 45_000


@pytest.mark.parametrize(
    "message",
    [
        "could not draw 10 field lineups over the salary floor 46000 in 200 rounds: lower "
        "min_salary",
        "could not draw 10 field lineups over the salary floor 46000 in 200 rounds: lower the "
        "floor (field_min_salary for a contest field), or build the field with "
        "core.field.build_field, which adjusts it",
    ],
)
def test_field_error_names_the_failing_setting(monkeypatch, message):
    import nascar_pipeline.core.contest as contest
    from nascar_pipeline.core.slate import draw_field
    from nascar_pipeline.errors import UserInputError

    def fails(*_a, **_k):
        raise ValueError(message)

    monkeypatch.setattr(contest, "generate_field", fails)
    setting = "contest_simulation run config field_min_salary"
    with pytest.raises(UserInputError) as err:
        draw_field(
            np.ones(8), np.full(8, 5000.0), 10, 46_000, np.random.default_rng(0), setting=setting
        )
    assert str(err.value) == (
        "could not draw 10 field lineups over the salary floor 46000 in 200 rounds: "
        f"lower {setting} (now 46,000)"
    )
