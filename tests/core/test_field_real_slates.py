"""The realistic field on the six real 2026 DraftKings slates (issue 13's done-when: the field
generator succeeds on every slate with default settings)."""

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core.field import FieldParams, build_field, field_stats
from nascar_pipeline.core.optimize import validate_lineups


@pytest.fixture(scope="module")
def slates(shared_data):
    path = shared_data / "draftkings" / "slates_2026.csv"
    if not path.exists():
        pytest.skip(f"{path} not found")
    return pd.read_csv(path)


def test_every_real_slate_gets_a_field_near_the_cap(slates):
    params = FieldParams(pool_size=10_000)  # default settings but a smaller pool: test time
    for slate, g in slates.groupby("slate"):
        sal = g["salary"].to_numpy(float)
        own = g["proj_own"].to_numpy(float)
        fb = build_field(
            own,
            sal,
            6,
            50_000,
            2_000,
            field_min_salary=46_000,
            projections=g["proj_points"].to_numpy(float),
            names=g["name"].to_numpy(),
            rng=np.random.default_rng(0),
            params=params,
        )
        assert validate_lineups(fb.lineups, sal, 6, 50_000, min_salary=fb.floor_used) == [], slate
        st = field_stats(fb.lineups, sal, target=fb.target_ownership)
        assert 48_800 <= st["salary_median"] <= 50_000, (slate, st)
        assert st["own_mae"] < 2.0, (slate, st)  # against what it was fitted to
