"""The simulated field's settings, one name per concept, shared by every DFS asset that draws or
shapes a field (ownership_projections, lineup_portfolio, contest_simulation).

`field_min_salary` is the least salary a field lineup spends: the ownership's implied field
lineup is tilted up to it, and both field generators (the portfolio's and the contest's) reject
lineups under it. Set it in each asset's run config under this one name; an error about it names
the asset whose setting failed.
"""

from dagster import Config
from pydantic import Field

from nascar_pipeline.core.ownership_model import DEFAULT_MIN_FIELD_SALARY

FIELD_MIN_SALARY = int(DEFAULT_MIN_FIELD_SALARY)  # DraftKings; real fields spend $48-50K


class FieldConfig(Config):
    """Base of the DFS assets' run configs: the field's settings."""

    field_min_salary: int = Field(
        FIELD_MIN_SALARY,
        ge=0,
        description="least salary a simulated field lineup spends (DraftKings: real fields "
        "spend $48-50K of the $50K cap)",
    )
