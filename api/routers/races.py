"""Races (with materialization status and freshness per asset) and the generic asset tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from api.auth import PrincipalDep
from api.errors import DATA_ERRORS
from api.routers.common import (
    AssetName,
    Provenance,
    RaceKey,
    StoreDep,
    TablePage,
    TableQueryDep,
    dumps,
    make_etag,
    provenance,
    respond,
    serve_table,
)
from api.store import KNOWN_ASSETS, RaceStore
from nascar_pipeline.storage.layout import ManifestEntry

router = APIRouter(prefix="/v1", tags=["races"], responses=DATA_ERRORS)

# What each asset is computed from (for the `stale` flag: an upstream rewritten after it).
UPSTREAM: dict[str, tuple[str, ...]] = {
    "race_model_fit": ("race_snapshot",),
    "race_scenarios": ("race_model_fit", "race_snapshot"),
    "driver_projections": ("race_scenarios",),
    "ownership_projections": ("driver_projections",),
    "lineup_portfolio": ("ownership_projections", "driver_projections", "race_scenarios"),
    "contest_simulation": ("lineup_portfolio", "ownership_projections", "race_scenarios"),
    "race_backtest": ("race_snapshot", "lineup_portfolio"),
}
_RACE_FIELDS = [
    "race_name",
    "race_date",
    "season",
    "track_name",
    "track_type",
    "track_length_miles",
    "scheduled_laps",
    "laps",
    "lock_time",
    "race_id",
]


class AssetStatus(BaseModel):
    asset: str
    status: str  # materialized | missing
    written_at: str | None = None
    age_s: float | None = None
    stale: bool | None = None  # an upstream asset was written after this one
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


def _age(written_at: str, now: datetime) -> float | None:
    try:
        t = datetime.fromisoformat(written_at)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return round((now - t).total_seconds(), 3)


def asset_statuses(manifest: dict[str, ManifestEntry]) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    out = []
    names = list(KNOWN_ASSETS) + sorted(set(manifest) - set(KNOWN_ASSETS))
    for name in names:
        e = manifest.get(name)
        if e is None:
            out.append({"asset": name, "status": "missing"})
            continue
        ups = [manifest[u].written_at for u in UPSTREAM.get(name, ()) if u in manifest]
        out.append(
            {
                "asset": name,
                "status": "materialized",
                "written_at": e.written_at,
                "age_s": _age(e.written_at, now),
                "stale": any(u > e.written_at for u in ups),
                "data_version": e.data_version,
                "run_id": e.run_id,
                "code_version": e.code_version,
                "rows": e.rows,
            }
        )
    return out


def _scalar(v: Any) -> Any:
    if v is None or v is pd.NA:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v.item() if hasattr(v, "item") else v


def race_fields(store: RaceStore, race_key: str, manifest: dict[str, ManifestEntry]) -> dict:
    """Race-level fields from the race's race_snapshot entry rows (cached by its version)."""
    entry = manifest.get("race_snapshot")
    if entry is None:
        return {}

    def build() -> dict:
        df, _ = store.frame(race_key, "race_snapshot", entry)
        rows = df[df["role"] == "entry"] if "role" in df.columns else df
        if rows.empty:
            return {"entries": 0}
        first = rows.iloc[0]
        out = {f: _scalar(first[f]) for f in _RACE_FIELDS if f in rows.columns}
        out["entries"] = int(len(rows))
        return out

    return store.memo(("race_fields", race_key, entry.data_version), build)


def _race_summary(store: RaceStore, race_key: str) -> dict:
    manifest = store.manifest(race_key)
    return {
        "race_key": race_key,
        **race_fields(store, race_key, manifest),
        "assets": asset_statuses(manifest),
    }


def _race_list(store: RaceStore, season: int | None, offset: int, limit: int) -> dict:
    keys = store.race_keys()
    if season is not None:
        keys = [k for k in keys if k.startswith(f"{season}-")]
    page = keys[offset : offset + limit]
    races = [_race_summary(store, k) for k in page]
    return {"total": len(keys), "offset": offset, "limit": limit, "races": races}


@router.get("/races", response_model=RaceList, summary="Races with per-asset status and freshness")
async def list_races(
    request: Request,
    principal: PrincipalDep,
    store: StoreDep,
    season: Annotated[int | None, Query(ge=1900, le=2999)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    body = await run_in_threadpool(_race_list, store, season, offset, limit)
    versions = [
        f"{r['race_key']}:{a['asset']}:{a.get('data_version')}"
        for r in body["races"]
        for a in r["assets"]
    ]
    etag = make_etag(
        "races", str(season), str(offset), str(limit), str(body["total"]), *versions, weak=True
    )
    return respond(request, None, etag=etag, entry=None, build=lambda: dumps(body))


@router.get("/races/{race_key}", response_model=RaceDetail, summary="One race")
async def get_race(
    request: Request, principal: PrincipalDep, store: StoreDep, race_key: RaceKey
) -> Response:
    def build() -> tuple[dict, ManifestEntry | None]:
        manifest = store.race_manifest(race_key)
        out = {
            "race_key": race_key,
            **race_fields(store, race_key, manifest),
            "assets": asset_statuses(manifest),
        }
        snap = manifest.get("race_snapshot")
        out["provenance"] = provenance(snap) if snap else None
        return out, snap

    body, snap = await run_in_threadpool(build)
    versions = [f"{a['asset']}:{a.get('data_version')}" for a in body["assets"]]
    etag = make_etag("race", race_key, *versions, weak=True)
    return respond(request, None, etag=etag, entry=snap, build=lambda: dumps(body))


@router.get(
    "/races/{race_key}/assets",
    response_model=AssetList,
    summary="Provenance of every materialized asset of a race",
)
async def list_assets(
    request: Request, principal: PrincipalDep, store: StoreDep, race_key: RaceKey
) -> Response:
    manifest = await run_in_threadpool(store.race_manifest, race_key)
    body = {"race_key": race_key, "assets": [provenance(e) for e in manifest.values()]}
    etag = make_etag("assets", race_key, *(e.data_version for e in manifest.values()))
    return respond(request, None, etag=etag, entry=None, build=lambda: dumps(body))


@router.get(
    "/races/{race_key}/assets/{asset}",
    response_model=TablePage,
    summary="Any asset of a race as a table page (column selection, sort, pagination)",
)
async def get_asset_table(
    request: Request,
    principal: PrincipalDep,
    store: StoreDep,
    race_key: RaceKey,
    asset: AssetName,
    q: TableQueryDep,
) -> Response:
    return await serve_table(request, store, race_key, asset, q)


PARQUET_MEDIA = "application/vnd.apache.parquet"
_CHUNK = 1 << 20


def parquet_download(
    request: Request, data: bytes, entry: ManifestEntry, filename: str
) -> Response:
    etag = make_etag(entry.data_version)

    def chunks():
        view = memoryview(data)
        for i in range(0, len(view), _CHUNK):
            yield bytes(view[i : i + _CHUNK])

    resp = respond(request, b"", etag=etag, entry=entry, media_type=PARQUET_MEDIA)
    if resp.status_code == 304:
        return resp
    headers = dict(resp.headers)
    headers.pop("content-length", None)
    headers.pop("content-type", None)
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    headers["Content-Length"] = str(len(data))
    return StreamingResponse(chunks(), media_type=PARQUET_MEDIA, headers=headers)


@router.get(
    "/races/{race_key}/assets/{asset}/parquet",
    responses={
        200: {"content": {PARQUET_MEDIA: {}}, "description": "the asset's Parquet file, streamed"}
    },
    response_class=Response,
    summary="Download an asset's Parquet file",
)
async def download_asset(
    request: Request, principal: PrincipalDep, store: StoreDep, race_key: RaceKey, asset: AssetName
) -> Response:
    data, entry = await run_in_threadpool(store.asset_bytes, race_key, asset)
    return parquet_download(request, data, entry, f"{race_key}.{asset}.parquet")
