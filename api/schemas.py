"""The response bodies (and the table query), typed for /docs and the OpenAPI schema.

Handlers render their JSON by hand (api/responses.py, for speed); these models are what that JSON
is, declared once. Rows name the columns the pipeline writes for the asset; every column is
optional (`columns=` selects some) and nullable (NaN and NA are sent as null), and other columns
the asset gains are passed through (`additionalProperties`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field


# ---- the table query (the query parameters of every table route) ------------------------------
class TableQuery(BaseModel):
    columns: str | None = Field(
        None, description="comma-separated columns to return (default: all)", max_length=4000
    )
    sort: str | None = Field(
        None,
        description="comma-separated columns; prefix - for descending, e.g. -dk_mean,driver_name",
        max_length=4000,
    )
    limit: int = Field(100, ge=1, le=10_000)
    offset: int = Field(0, ge=0, le=100_000_000)

    def key(self) -> tuple:
        return (self.columns or "", self.sort or "", self.limit, self.offset)


# ---- provenance and the generic table page -------------------------------------------------
class Provenance(BaseModel):
    """The manifest entry of the stored file a response was read from."""

    asset: str
    race_key: str
    path: str
    run_id: str | None
    code_version: str | None
    data_version: str = Field(description="sha256 prefix of the stored bytes (also the ETag)")
    written_at: str
    rows: int
    bytes: int


class ColumnInfo(BaseModel):
    name: str
    type: str = Field(description="Arrow type as stored (or the pandas dtype)")


class Row(BaseModel):
    """One row of a stored asset: its columns as written by the pipeline."""

    model_config = ConfigDict(extra="allow")


RowT = TypeVar("RowT", bound=Row)


class TablePage(BaseModel, Generic[RowT]):
    race_key: str
    asset: str
    provenance: Provenance
    columns: list[ColumnInfo]
    total: int = Field(description="rows in the asset (before offset and limit)")
    offset: int
    limit: int
    rows: list[RowT]


# ---- the rows of the assets the results routes serve -----------------------------------------
class DriverRow(Row):
    driver_id: int | None = None
    driver_name: str | None = None
    salary: float | None = None
    start_position: float | None = None


class DkPoints(BaseModel):
    """DraftKings points over the simulated scenarios."""

    dk_mean: float | None = None
    dk_sd: float | None = None
    dk_p10: float | None = None
    dk_p25: float | None = None
    dk_median: float | None = None
    dk_p75: float | None = None
    dk_p90: float | None = None


class FinishOdds(BaseModel):
    """Finish odds and laps over the simulated scenarios (percentages, expected counts)."""

    win_pct: float | None = None
    top5_pct: float | None = None
    top10_pct: float | None = None
    dnf_pct: float | None = None
    exp_laps_led: float | None = None
    exp_fastest_laps: float | None = None


class ProjectionRow(FinishOdds, DkPoints, DriverRow):
    dk_id: int | None = None
    fd_mean: float | None = None
    pts_per_1k: float | None = Field(None, description="dk_mean per $1,000 of salary")


class DriverSummaryRow(FinishOdds, DkPoints, DriverRow):
    """Per-driver quantiles: from driver_projections, or computed off the scenario matrix (then
    with the FanDuel quantiles too)."""

    scenarios: int | None = None
    fd_mean: float | None = None
    fd_sd: float | None = None
    fd_p10: float | None = None
    fd_p25: float | None = None
    fd_median: float | None = None
    fd_p75: float | None = None
    fd_p90: float | None = None
    mean_finish: float | None = None


class OwnershipRow(DriverRow):
    projection: float | None = None
    own_pct: float | None = Field(None, description="projected ownership, %")
    own_model_pct: float | None = None
    own_optimal_pct: float | None = None
    actual_own_pct: float | None = None
    dk_own_pct: float | None = None


class BacktestRow(DriverRow):
    race_key: str | None = None
    finish_position: float | None = None
    actual_points: float | None = None
    proj_mean: float | None = None
    proj_p10: float | None = None
    proj_p50: float | None = None
    proj_p90: float | None = None
    pit: float | None = Field(None, description="share of the scenarios at or below the actual")
    log_lik: float | None = None
    crps: float | None = None
    in_50: bool | None = None
    in_80: bool | None = None
    proj_own_pct: float | None = None
    actual_own_pct: float | None = None
    own_error: float | None = None


class LineupRow(Row):
    """A portfolio lineup (its drivers as `d<slot>_*` columns) or one of its slots."""

    lineup_id: int | None = None
    contest_id: str | None = Field(None, description="the contest the lineup is built for")
    site: str | None = None


class ContestLineupRow(Row):
    lineup_id: int | None = None
    contest_id: str | None = Field(None, description="the contest simulated")
    mean_payout: float | None = None
    roi: float | None = Field(None, description="mean payout / entry fee - 1")
    cash_pct: float | None = None
    win_pct: float | None = None
    top1_pct: float | None = None
    mean_rank: float | None = None
    sim_duplicates: float | None = None
    honest_roi: float | None = Field(
        None, description="ROI in scenarios perturbed by the model's error (expect this one)"
    )
    honest_cash_pct: float | None = None
    honest_win_pct: float | None = None


# ---- results bodies ---------------------------------------------------------------------------
class Site(StrEnum):
    draftkings = "draftkings"
    fanduel = "fanduel"


class SummarySource(StrEnum):
    auto = "auto"
    projections = "projections"
    scenarios = "scenarios"


class Portfolio(BaseModel):
    race_key: str
    provenance: Provenance
    lineups: int | None
    contest_id: str | None = Field(None, description="the contest filter applied (null: none)")
    contests: list[str] = Field(
        default_factory=list, description="the contests the stored portfolio is built for"
    )
    downloads: dict[str, str] = Field(description="site -> the URL of its upload CSV")
    rows: list[LineupRow]


class ScenarioSummary(BaseModel):
    race_key: str
    source: str = Field(description="the asset read: driver_projections or race_scenarios")
    provenance: Provenance
    quantiles: list[float]
    drivers: list[DriverSummaryRow]


class MetricSummary(BaseModel):
    mean: float | None
    min: float | None
    median: float | None
    max: float | None


class ContestSummary(BaseModel):
    race_key: str
    provenance: Provenance
    lineups: int
    contest_id: str | None = Field(None, description="the contest filter applied (null: none)")
    contests: list[str] = Field(
        default_factory=list, description="the contests the stored simulation covers"
    )
    metrics: dict[str, MetricSummary] = Field(description="per numeric column of the simulation")
    best: list[ContestLineupRow] = Field(description="the ten best lineups (by roi)")


# ---- races ----------------------------------------------------------------------------------
class AssetStatus(BaseModel):
    asset: str
    status: str = Field(description="materialized | missing")
    written_at: str | None = None
    age_s: float | None = None
    stale: bool | None = Field(
        None, description="an asset it is computed from was written after it"
    )
    data_version: str | None = None
    run_id: str | None = None
    code_version: str | None = None
    rows: int | None = None


class RaceSummary(BaseModel):
    race_key: str
    race_name: str | None = None
    race_date: str | None = None
    season: int | None = None
    track_name: str | None = None
    track_type: str | None = None
    lock_time: str | None = None
    entries: int | None = None
    assets: list[AssetStatus]


class RaceList(BaseModel):
    total: int
    offset: int
    limit: int
    races: list[RaceSummary]


class RaceDetail(RaceSummary):
    track_length_miles: float | None = None
    scheduled_laps: int | None = None
    laps: int | None = None
    race_id: int | None = None
    provenance: Provenance | None = None


class AssetList(BaseModel):
    race_key: str
    assets: list[Provenance]


# ---- operations -------------------------------------------------------------------------------
class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    storage: str
    races: int
