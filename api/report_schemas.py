"""The rows of the exposure report's tables (nascar_pipeline/core/exposure_report.py), typed for
/docs and the OpenAPI schema. As in api/schemas.py: every column optional and nullable, other
columns passed through (`additionalProperties`: e.g. honest_cash_pct when the simulation has it).
"""

from __future__ import annotations

from pydantic import Field

from api.schemas import Row


class ExposureDriverRow(Row):
    """One driver in one contest: our exposure against the field's projected ownership."""

    contest_id: str | None = Field(None, description="the contest ('race': a build without ids)")
    contest_name: str | None = None
    driver_id: int | None = Field(None, description="NASCAR driver id")
    driver_name: str | None = None
    salary: int | None = Field(None, description="DraftKings salary")
    lineups: int | None = Field(None, description="lineups of the contest that hold him")
    n_lineups: int | None = Field(None, description="lineups of the contest")
    exposure_pct: float | None = Field(None, description="share of the contest's lineups, %")
    min_exposure_pct: float | None = Field(None, description="least asked, % (a lock: 100)")
    max_exposure_pct: float | None = Field(
        None, description="most asked, %: his own max, else the global cap (an exclude: 0)"
    )
    locked: bool | None = None
    excluded: bool | None = None
    groups: str | None = Field(None, description="the steering's groups he is in")
    limit: str | None = Field(None, description="the limits asked, in words")
    own_pct: float | None = Field(None, description="projected field ownership, %")
    leverage_pct: float | None = Field(None, description="exposure_pct - own_pct (points)")
    projection: float | None = Field(None, description="projected DraftKings points (mean)")
    ceiling: float | None = Field(None, description="his DraftKings points' 90th percentile")


class ExposureLineupRow(Row):
    """One lineup of one contest: projection, ceiling and its simulated contest results."""

    contest_id: str | None = None
    contest_name: str | None = None
    lineup_id: int | None = None
    drivers: str | None = Field(None, description="driver names in roster order, ', '-separated")
    driver_ids: str | None = Field(None, description="NASCAR driver ids, ','-separated")
    salary: int | None = None
    projection: float | None = Field(None, description="projected DraftKings points")
    ceiling: float | None = Field(
        None, description="the lineup's DraftKings points' 90th percentile over the scenarios"
    )
    roi: float | None = Field(None, description="simulated mean payout / entry fee - 1")
    cash_pct: float | None = None
    win_pct: float | None = None
    top1_pct: float | None = None
    sim_duplicates: float | None = Field(None, description="simulated duplicates in the field")
    honest_roi: float | None = Field(
        None, description="ROI on scenarios perturbed by the model's measured error"
    )
