"""One setting name per concept: the simulated field's salary floor is `field_min_salary`,
defined once (assets/field_config.py) and read by every asset that draws or shapes the field; an
error about it names the asset's setting that failed."""

from __future__ import annotations

import numpy as np


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


def test_a_field_under_an_unreachable_floor_is_built_adjusted_naming_the_setting(monkeypatch):
    """generate_field cannot reach the floor: the field is built by core/field.py build_field
    (floor lowered / ownership tempered) and the warnings name the asset's setting."""
    import nascar_pipeline.core.contest as contest
    from nascar_pipeline.core.slate import draw_field

    def fails(*_a, **_k):
        raise ValueError(
            "could not draw 10 field lineups over the salary floor 46000 in 200 rounds: lower "
            "the floor (field_min_salary for a contest field), or build the field with "
            "core.field.build_field, which adjusts it"
        )

    monkeypatch.setattr(contest, "generate_field", fails)
    setting = "contest_simulation run config field_min_salary"
    sal = np.linspace(9_000, 4_500, 12)
    drawn = draw_field(
        np.full(12, 50.0), sal, 40, 60_000, np.random.default_rng(0), setting=setting
    )
    assert drawn.lineups.shape == (40, 6)
    assert (sal[drawn.lineups].sum(axis=1) <= 50_000).all()
    assert drawn.warnings[0] == (
        "could not draw 10 field lineups over the salary floor 46000 in 200 rounds (the "
        f"projected ownership under {setting} 60,000): the field was built with the floor and "
        "ownership adjusted"
    )
    assert any("field_min_salary $60,000" in w for w in drawn.warnings[1:]), drawn.warnings
