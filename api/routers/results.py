"""The race results the frontend reads: projections, scenario summary and matrix, ownership,
portfolio (JSON and upload CSVs), contest simulation, backtest. Served from stored files only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.deps import AUTHENTICATED, IfNoneMatch, RaceKey, StoreDep, TableQueryDep
from api.errors import DATA_ERRORS
from api.fastpath import FastServable
from api.reads import (
    contest_ids,
    current_manifest,
    filter_contest,
    need,
    serve_parquet,
    serve_rendered,
    serve_table,
    snapshot_entries,
)
from api.responses import (
    PARQUET_MEDIA,
    Prepared,
    csv_download,
    json_envelope,
    make_etag,
    provenance,
)
from api.schemas import (
    BacktestRow,
    ContestLineupRow,
    ContestSummary,
    OwnershipRow,
    Portfolio,
    ProjectionRow,
    Row,
    ScenarioSummary,
    Site,
    SummarySource,
    TablePage,
)
from api.store import RaceStore
from api.summaries import (
    QUANTILES,
    contest_summary,
    summary_from_projections,
    summary_from_scenarios,
)
from nascar_pipeline.storage.layout import ManifestEntry

router = APIRouter(
    prefix="/v1/races/{race_key}",
    tags=["results"],
    responses=DATA_ERRORS,
    dependencies=[AUTHENTICATED],
)


# The optional filter of the portfolio and contest routes: one contest's rows.
ContestId = Annotated[
    str | None,
    Query(
        description="only this contest's rows (a contest_id as stored, e.g. dk-180001234); "
        "404 when the race has no such contest",
        min_length=1,
        max_length=200,
    ),
]


# ---- portfolio ------------------------------------------------------------------------------
# Once rendered, the portfolio is sent from memory by the request middleware (api/fastpath.py).
PORTFOLIO = FastServable(asset="lineup_portfolio", cache="portfolio")


@router.get(
    "/portfolio",
    response_model=Portfolio,
    summary="The lineup portfolio (every row), with links to the upload CSVs",
)
@PORTFOLIO
async def portfolio(
    store: StoreDep, race_key: RaceKey, if_none_match: IfNoneMatch, contest_id: ContestId = None
) -> Response:
    entry = need(await current_manifest(store, race_key), race_key, PORTFOLIO.asset)
    # the unfiltered response is the fast path's (api/fastpath.py answers only query-less GETs)
    key = PORTFOLIO.key(race_key, entry.data_version)
    if contest_id is not None:
        key = (*key, "contest", contest_id)
    return await serve_rendered(
        store,
        if_none_match,
        key,
        _portfolio_etag(entry.data_version, contest_id),
        entry,
        lambda: render_portfolio(store, race_key, entry, contest_id),
    )


def _portfolio_etag(version: str, contest_id: str | None) -> str:
    if contest_id is None:
        return make_etag(version, "portfolio")
    return make_etag(version, "portfolio", "contest", contest_id)


def render_portfolio(
    store: RaceStore, race_key: str, entry: ManifestEntry, contest_id: str | None = None
) -> Prepared:
    """The portfolio response (rows, provenance, upload links) rendered once per version (and
    contest filter)."""
    df, used = store.frame(race_key, PORTFOLIO.asset, entry)
    contests = contest_ids(df)
    df = filter_contest(df, contest_id, PORTFOLIO.asset)
    lineups = int(df["lineup_id"].nunique()) if "lineup_id" in df.columns else None
    downloads = {
        name.rsplit(".", 1)[0]: f"/v1/races/{race_key}/portfolio/{name}"
        for name in sorted(used.extra_files)
        if name.endswith(".csv") and name[:-4] in Site.__members__
    }
    body = json_envelope(
        {
            "race_key": race_key,
            "provenance": provenance(used),
            "lineups": lineups,
            "contest_id": contest_id,
            "contests": contests,
            "downloads": downloads,
        },
        "rows",
        df,
    )
    # `used` is newer than `entry` when a rewrite landed in between: the headers and the
    # ETag then describe the rows actually served.
    return Prepared(body, etag=_portfolio_etag(used.data_version, contest_id), entry=used)


@router.get(
    "/portfolio/{site}.csv",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {}},
            "description": "the site's upload CSV, as written by the pipeline",
        }
    },
    summary="The portfolio's upload CSV for DraftKings or FanDuel",
)
async def portfolio_csv(
    store: StoreDep, race_key: RaceKey, site: Site, if_none_match: IfNoneMatch
) -> Response:
    name = f"{site.value}.csv"
    data, entry = await run_in_threadpool(store.extra_bytes, race_key, PORTFOLIO.asset, name)
    return csv_download(if_none_match, data, entry, name, f"{race_key}-{site.value}.csv")


# ---- projections, ownership, backtest, contest lineups: table pages in a sensible order --------
def _table_route(
    path: str, name: str, asset: str, row: type[Row], summary: str, default_sort=()
) -> None:
    async def endpoint(
        store: StoreDep, race_key: RaceKey, q: TableQueryDep, if_none_match: IfNoneMatch
    ) -> Response:
        return await serve_table(store, if_none_match, race_key, asset, q, default_sort)

    # `name` keeps the operation id the route had as a named function
    router.add_api_route(
        path, endpoint, name=name, response_model=TablePage[row], summary=summary, methods=["GET"]
    )


_table_route(
    "/projections",
    "projections",
    "driver_projections",
    ProjectionRow,
    "Driver projections (fantasy points distribution, finish odds)",
    default_sort=("-dk_mean", "driver_id"),
)
_table_route(
    "/ownership",
    "ownership",
    "ownership_projections",
    OwnershipRow,
    "Projected ownership per driver",
    default_sort=("-dk_own_pct", "-own_pct", "driver_id"),
)
_table_route(
    "/backtest",
    "backtest",
    "race_backtest",
    BacktestRow,
    "Backtest of the race's projections and portfolio against its results",
)


@router.get(
    "/contest-simulation/lineups",
    name="contest_lineups",
    response_model=TablePage[ContestLineupRow],
    summary="Contest simulation per lineup and contest (sortable, paginated; simulated and "
    "honest figures)",
)
async def contest_lineups(
    store: StoreDep,
    race_key: RaceKey,
    q: TableQueryDep,
    if_none_match: IfNoneMatch,
    contest_id: ContestId = None,
) -> Response:
    return await serve_table(
        store,
        if_none_match,
        race_key,
        "contest_simulation",
        q,
        ("-roi", "lineup_id"),
        contest_id=contest_id,
    )


# ---- scenarios -----------------------------------------------------------------------------
@router.get(
    "/scenarios/summary",
    response_model=ScenarioSummary,
    summary="Per-driver quantiles of fantasy points over the simulated scenarios",
)
async def scenario_summary(
    store: StoreDep,
    race_key: RaceKey,
    if_none_match: IfNoneMatch,
    source: Annotated[
        SummarySource,
        Query(
            description="projections: read driver_projections; scenarios: quantiles of the "
            "stored scenario matrix; auto: projections when present"
        ),
    ] = SummarySource.auto,
) -> Response:
    manifest = await current_manifest(store, race_key)
    use = source.value
    if use == "auto":
        use = "projections" if "driver_projections" in manifest else "scenarios"
    asset = "driver_projections" if use == "projections" else "race_scenarios"
    entry = need(manifest, race_key, asset)
    snap = manifest.get("race_snapshot") if use == "scenarios" else None
    versions = [entry.data_version] + ([snap.data_version] if snap else [])
    etag = make_etag("summary", use, *versions)

    def render() -> Prepared:
        df, used = store.frame(race_key, asset, entry)
        if use == "projections":
            drivers = summary_from_projections(df)
        else:
            entries = snapshot_entries(store, race_key, snap) if snap else None
            drivers = summary_from_scenarios(df, entries)
        fields = {
            "race_key": race_key,
            "source": asset,
            "provenance": provenance(used),
            "quantiles": list(QUANTILES),
        }
        return Prepared(json_envelope(fields, "drivers", drivers), etag=etag, entry=entry)

    key = ("summary", race_key, use, *versions)
    return await serve_rendered(store, if_none_match, key, etag, entry, render)


@router.get(
    "/scenarios.parquet",
    response_class=Response,
    responses={
        200: {
            "content": {PARQUET_MEDIA: {}},
            "description": "the full scenario matrix (long table), streamed",
        }
    },
    summary="Download the full scenario matrix as Parquet",
)
async def scenarios_parquet(
    store: StoreDep, race_key: RaceKey, if_none_match: IfNoneMatch
) -> Response:
    return await serve_parquet(store, if_none_match, race_key, "race_scenarios")


# ---- contest simulation ------------------------------------------------------------------------
@router.get(
    "/contest-simulation",
    response_model=ContestSummary,
    summary="Contest simulation summary over the portfolio's lineups",
)
async def contest_simulation(
    store: StoreDep, race_key: RaceKey, if_none_match: IfNoneMatch, contest_id: ContestId = None
) -> Response:
    entry = need(await current_manifest(store, race_key), race_key, "contest_simulation")
    contest = () if contest_id is None else ("contest", contest_id)
    etag = make_etag(entry.data_version, "contest-summary", *contest)

    def render() -> Prepared:
        df, used = store.frame(race_key, "contest_simulation", entry)
        contests = contest_ids(df)
        df = filter_contest(df, contest_id, "contest_simulation")
        metrics, best = contest_summary(df)
        lineups = int(df["lineup_id"].nunique()) if "lineup_id" in df.columns else len(df)
        fields = {
            "race_key": race_key,
            "provenance": provenance(used),
            "lineups": lineups,
            "contest_id": contest_id,
            "contests": contests,
            "metrics": metrics,
        }
        return Prepared(json_envelope(fields, "best", best), etag=etag, entry=entry)

    key = ("contest", race_key, entry.data_version, *contest)
    return await serve_rendered(store, if_none_match, key, etag, entry, render)
