"""The race results the frontend reads: projections, scenario summary and matrix, ownership,
portfolio (JSON and upload CSVs), contest simulation, backtest. Served from stored files only."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.auth import PrincipalDep
from api.errors import DATA_ERRORS
from api.routers.common import (
    Prepared,
    Provenance,
    RaceKey,
    StoreDep,
    TablePage,
    TableQueryDep,
    _matches,
    current_manifest,
    json_envelope,
    make_etag,
    provenance,
    respond,
    serve_table,
)
from api.routers.races import PARQUET_MEDIA, parquet_download
from api.store import RaceStore, not_found_asset
from nascar_pipeline.storage.layout import ManifestEntry

router = APIRouter(prefix="/v1/races/{race_key}", tags=["results"], responses=DATA_ERRORS)


# ---- portfolio ------------------------------------------------------------------------------
class Site(str, Enum):
    draftkings = "draftkings"
    fanduel = "fanduel"


class Portfolio(BaseModel):
    race_key: str
    provenance: Provenance
    lineups: int | None
    downloads: dict[str, str]
    rows: list[dict[str, Any]]


@router.get(
    "/portfolio",
    response_model=Portfolio,
    summary="The lineup portfolio (every row), with links to the upload CSVs",
)
async def portfolio(request: Request, principal: PrincipalDep, race_key: RaceKey) -> Response:
    store: RaceStore = request.app.state.store  # (one dependency fewer on the hot path)
    manifest = await _manifest(store, race_key)
    entry = _need(manifest, race_key, "lineup_portfolio")
    key = portfolio_key(race_key, entry.data_version)
    prepared = store.cache.get(("memo", *key))
    if prepared is None:
        inm = request.headers.get("if-none-match")
        if inm and _matches(inm, make_etag(entry.data_version, "portfolio")):
            # a revalidation needs no body: answer it without reading the file
            return respond(
                request, b"", etag=make_etag(entry.data_version, "portfolio"), entry=entry
            )
        prepared = await run_in_threadpool(
            store.memo, key, lambda: build_portfolio(store, race_key, entry)
        )
    return prepared.response(request.headers.get("if-none-match"))


def portfolio_key(race_key: str, data_version: str) -> tuple:
    return ("portfolio", race_key, data_version)


def build_portfolio(store: RaceStore, race_key: str, entry: ManifestEntry) -> Prepared:
    """The portfolio response (rows, provenance, upload links) rendered once per version."""
    df, used = store.frame(race_key, "lineup_portfolio", entry)
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
            "downloads": downloads,
        },
        "rows",
        df,
    )
    # `used` is newer than `entry` when a rewrite landed in between: the headers and the
    # ETag then describe the rows actually served.
    return Prepared(body, etag=make_etag(used.data_version, "portfolio"), entry=used)


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
    request: Request, principal: PrincipalDep, store: StoreDep, race_key: RaceKey, site: Site
) -> Response:
    name = f"{site.value}.csv"
    data, entry = await run_in_threadpool(store.extra_bytes, race_key, "lineup_portfolio", name)
    return respond(
        request,
        data,
        etag=make_etag(entry.data_version, name),
        entry=entry,
        media_type="text/csv; charset=utf-8",
        extra_headers={
            "Content-Disposition": f'attachment; filename="{race_key}-{site.value}.csv"'
        },
    )


# ---- projections, ownership, backtest: tables with sensible default order -------------------
@router.get(
    "/projections",
    response_model=TablePage,
    summary="Driver projections (fantasy points distribution, finish odds)",
)
async def projections(
    request: Request, principal: PrincipalDep, store: StoreDep, race_key: RaceKey, q: TableQueryDep
) -> Response:
    return await serve_table(
        request, store, race_key, "driver_projections", q, default_sort=("-dk_mean", "driver_id")
    )


@router.get("/ownership", response_model=TablePage, summary="Projected ownership per driver")
async def ownership(
    request: Request, principal: PrincipalDep, store: StoreDep, race_key: RaceKey, q: TableQueryDep
) -> Response:
    return await serve_table(
        request,
        store,
        race_key,
        "ownership_projections",
        q,
        default_sort=("-dk_own_pct", "-own_pct", "driver_id"),
    )


@router.get(
    "/backtest",
    response_model=TablePage,
    summary="Backtest of the race's projections and portfolio against its results",
)
async def backtest(
    request: Request, principal: PrincipalDep, store: StoreDep, race_key: RaceKey, q: TableQueryDep
) -> Response:
    return await serve_table(request, store, race_key, "race_backtest", q)


@router.get(
    "/contest-simulation/lineups",
    response_model=TablePage,
    summary="Contest simulation per lineup (sortable, paginated)",
)
async def contest_lineups(
    request: Request, principal: PrincipalDep, store: StoreDep, race_key: RaceKey, q: TableQueryDep
) -> Response:
    return await serve_table(
        request, store, race_key, "contest_simulation", q, default_sort=("-roi", "lineup_id")
    )


# ---- helpers ---------------------------------------------------------------------------------
async def _manifest(store: RaceStore, race_key: str) -> dict[str, ManifestEntry]:
    m = await current_manifest(store, race_key)
    if not m:
        from api.store import not_found_race

        raise not_found_race(race_key)
    return m


def _need(manifest: dict[str, ManifestEntry], race_key: str, asset: str) -> ManifestEntry:
    if asset not in manifest:
        raise not_found_asset(race_key, asset)
    return manifest[asset]


async def _cached_body(
    request: Request, store: RaceStore, key: tuple, etag: str, entry: ManifestEntry, build
) -> Response:
    inm = request.headers.get("if-none-match")
    if inm:
        probe = respond(request, b"", etag=etag, entry=entry)
        if probe.status_code == 304:
            return probe
    body = store.cache.get(("memo", *key))
    if body is None:
        body = await run_in_threadpool(store.memo, key, build)
    return respond(request, body, etag=etag, entry=entry)


# ---- scenarios -----------------------------------------------------------------------------
class SummarySource(str, Enum):
    auto = "auto"
    projections = "projections"
    scenarios = "scenarios"


class ScenarioSummary(BaseModel):
    race_key: str
    source: str
    provenance: Provenance
    quantiles: list[float]
    drivers: list[dict[str, Any]]


_PROJ_COLS = [
    "driver_id",
    "driver_name",
    "salary",
    "start_position",
    "dk_mean",
    "dk_sd",
    "dk_p10",
    "dk_p25",
    "dk_median",
    "dk_p75",
    "dk_p90",
    "fd_mean",
    "win_pct",
    "top5_pct",
    "top10_pct",
    "dnf_pct",
    "exp_laps_led",
    "exp_fastest_laps",
]
_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def summary_from_projections(df: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in _PROJ_COLS if c in df.columns]
    out = df[cols]
    if "dk_mean" in out.columns:
        out = out.sort_values("dk_mean", ascending=False, kind="stable")
    return out.reset_index(drop=True)


def summary_from_scenarios(sc: pd.DataFrame, names: pd.DataFrame | None) -> pd.DataFrame:
    """Per-driver quantiles read off the stored scenario matrix (no model is run)."""
    g = sc.groupby("driver_id", sort=True)
    out = pd.DataFrame({"scenarios": g.size()})
    for site in ("dk", "fd"):
        col = f"{site}_points"
        if col not in sc.columns:
            continue
        out[f"{site}_mean"] = g[col].mean()
        out[f"{site}_sd"] = g[col].std(ddof=0)
        qs = g[col].quantile(list(_QUANTILES)).unstack()
        for qv, name in zip(_QUANTILES, ("p10", "p25", "median", "p75", "p90")):
            out[f"{site}_{name}"] = qs[qv]
    if "finish_position" in sc.columns:
        fp = sc["finish_position"].to_numpy()
        for name, k in (("win_pct", 1), ("top5_pct", 5), ("top10_pct", 10)):
            out[name] = pd.Series(fp <= k, index=sc.index).groupby(sc["driver_id"]).mean() * 100.0
        out["mean_finish"] = g["finish_position"].mean()
    if "dnf" in sc.columns:
        out["dnf_pct"] = g["dnf"].mean() * 100.0
    for src, dst in (("laps_led", "exp_laps_led"), ("fastest_laps", "exp_fastest_laps")):
        if src in sc.columns:
            out[dst] = g[src].mean()
    out = out.reset_index()
    if names is not None and not names.empty:
        out = names.merge(out, on="driver_id", how="right")
    if "dk_mean" in out.columns:
        out = out.sort_values("dk_mean", ascending=False, kind="stable")
    return out.reset_index(drop=True).replace([np.inf, -np.inf], np.nan)


def _entry_names(store: RaceStore, race_key: str, manifest) -> pd.DataFrame | None:
    snap = manifest.get("race_snapshot")
    if snap is None:
        return None
    df, _ = store.frame(race_key, "race_snapshot", snap)
    e = df[df["role"] == "entry"] if "role" in df.columns else df
    cols = [c for c in ("driver_id", "driver_name", "salary", "start_position") if c in e.columns]
    if "driver_id" not in cols:
        return None
    return e[cols].drop_duplicates("driver_id").astype({"driver_id": "int64"})


@router.get(
    "/scenarios/summary",
    response_model=ScenarioSummary,
    summary="Per-driver quantiles of fantasy points over the simulated scenarios",
)
async def scenario_summary(
    request: Request,
    principal: PrincipalDep,
    store: StoreDep,
    race_key: RaceKey,
    source: Annotated[
        SummarySource,
        Query(
            description="projections: read driver_projections; scenarios: quantiles of the "
            "stored scenario matrix; auto: projections when present"
        ),
    ] = SummarySource.auto,
) -> Response:
    manifest = await _manifest(store, race_key)
    use = source.value
    if use == "auto":
        use = "projections" if "driver_projections" in manifest else "scenarios"
    asset = "driver_projections" if use == "projections" else "race_scenarios"
    entry = _need(manifest, race_key, asset)
    snap = manifest.get("race_snapshot")
    versions = [entry.data_version] + ([snap.data_version] if snap and use == "scenarios" else [])
    etag = make_etag("summary", use, *versions)

    def build() -> bytes:
        df, used = store.frame(race_key, asset, entry)
        if use == "projections":
            drivers = summary_from_projections(df)
        else:
            drivers = summary_from_scenarios(df, _entry_names(store, race_key, manifest))
        return json_envelope(
            {
                "race_key": race_key,
                "source": asset,
                "provenance": provenance(used),
                "quantiles": list(_QUANTILES),
            },
            "drivers",
            drivers,
        )

    return await _cached_body(
        request, store, ("summary", race_key, use, *versions), etag, entry, build
    )


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
    request: Request, principal: PrincipalDep, store: StoreDep, race_key: RaceKey
) -> Response:
    data, entry = await run_in_threadpool(store.asset_bytes, race_key, "race_scenarios")
    return parquet_download(request, data, entry, f"{race_key}.race_scenarios.parquet")


# ---- contest simulation ------------------------------------------------------------------------
class ContestSummary(BaseModel):
    race_key: str
    provenance: Provenance
    lineups: int
    metrics: dict[str, dict[str, float | None]]
    best: list[dict[str, Any]]


_ID_COLS = {"lineup_id", "driver_id", "dk_id", "contest_id", "scenario"}


def contest_summary(df: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    metrics: dict[str, dict[str, float | None]] = {}
    for col in df.columns:
        if (
            col in _ID_COLS
            or not pd.api.types.is_numeric_dtype(df[col])
            or pd.api.types.is_bool_dtype(df[col])
        ):
            continue
        s = pd.to_numeric(df[col], errors="coerce").astype("float64")
        s = s[np.isfinite(s)]
        if s.empty:
            metrics[col] = {"mean": None, "min": None, "median": None, "max": None}
            continue
        metrics[col] = {
            "mean": float(s.mean()),
            "min": float(s.min()),
            "median": float(s.median()),
            "max": float(s.max()),
        }
    best = df
    for key in ("roi", "mean_payout", "cash_pct"):
        if key in df.columns:
            best = df.sort_values(key, ascending=False, kind="stable")
            break
    return metrics, best.head(10)


@router.get(
    "/contest-simulation",
    response_model=ContestSummary,
    summary="Contest simulation summary over the portfolio's lineups",
)
async def contest_simulation(
    request: Request, principal: PrincipalDep, store: StoreDep, race_key: RaceKey
) -> Response:
    manifest = await _manifest(store, race_key)
    entry = _need(manifest, race_key, "contest_simulation")
    etag = make_etag(entry.data_version, "contest-summary")

    def build() -> bytes:
        df, used = store.frame(race_key, "contest_simulation", entry)
        metrics, best = contest_summary(df)
        lineups = int(df["lineup_id"].nunique()) if "lineup_id" in df.columns else len(df)
        return json_envelope(
            {
                "race_key": race_key,
                "provenance": provenance(used),
                "lineups": lineups,
                "metrics": metrics,
            },
            "best",
            best,
        )

    return await _cached_body(
        request, store, ("contest", race_key, entry.data_version), etag, entry, build
    )
