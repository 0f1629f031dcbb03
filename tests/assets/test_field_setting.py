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


def test_a_field_under_an_unreachable_floor_is_built_adjusted_naming_the_setting():
    """The default field (core/field.py build_field through core/slate.py draw_field) under a
    floor no lineup reaches: the floor is lowered and the warning names the asset's setting."""
    from nascar_pipeline.core.slate import draw_field

    setting = "contest_simulation run config field_min_salary"
    sal = np.linspace(9_000, 4_500, 12)
    drawn = draw_field(
        np.full(12, 50.0), sal, 40, 60_000, np.random.default_rng(0), setting=setting
    )
    assert drawn.lineups.shape == (40, 6)
    assert (sal[drawn.lineups].sum(axis=1) <= 50_000).all()
    assert (np.diff(np.sort(drawn.lineups, axis=1), axis=1) > 0).all()  # unique drivers
    floor = [w for w in drawn.warnings if w.startswith(f"{setting} $60,000")]
    assert floor and "the field was drawn with a floor of" in floor[0], drawn.warnings
