"""Races (with materialization status and freshness per asset) and the generic asset tables."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.asset_graph import asset_statuses
from api.deps import AUTHENTICATED, AssetName, IfNoneMatch, RaceKey, StoreDep, TableQueryDep
from api.errors import DATA_ERRORS
from api.reads import race_fields, serve_parquet, serve_table
from api.responses import PARQUET_MEDIA, dumps, make_etag, provenance, respond
from api.schemas import AssetList, RaceDetail, RaceList, Row, TablePage
from api.store import RaceStore
from nascar_pipeline.storage.layout import ManifestEntry

router = APIRouter(
    prefix="/v1", tags=["races"], responses=DATA_ERRORS, dependencies=[AUTHENTICATED]
)


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
    races = [_race_summary(store, k) for k in keys[offset : offset + limit]]
    return {"total": len(keys), "offset": offset, "limit": limit, "races": races}


@router.get("/races", response_model=RaceList, summary="Races with per-asset status and freshness")
async def list_races(
    store: StoreDep,
    if_none_match: IfNoneMatch,
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
    return respond(if_none_match, lambda: dumps(body), etag=etag, entry=None)


@router.get("/races/{race_key}", response_model=RaceDetail, summary="One race")
async def get_race(store: StoreDep, race_key: RaceKey, if_none_match: IfNoneMatch) -> Response:
    def read() -> tuple[dict, ManifestEntry | None]:
        manifest = store.race_manifest(race_key)
        snap = manifest.get("race_snapshot")
        body = {
            "race_key": race_key,
            **race_fields(store, race_key, manifest),
            "assets": asset_statuses(manifest),
            "provenance": provenance(snap) if snap else None,
        }
        return body, snap

    body, snap = await run_in_threadpool(read)
    versions = [f"{a['asset']}:{a.get('data_version')}" for a in body["assets"]]
    etag = make_etag("race", race_key, *versions, weak=True)
    return respond(if_none_match, lambda: dumps(body), etag=etag, entry=snap)


@router.get(
    "/races/{race_key}/assets",
    response_model=AssetList,
    summary="Provenance of every materialized asset of a race",
)
async def list_assets(store: StoreDep, race_key: RaceKey, if_none_match: IfNoneMatch) -> Response:
    manifest = await run_in_threadpool(store.race_manifest, race_key)
    body = {"race_key": race_key, "assets": [provenance(e) for e in manifest.values()]}
    etag = make_etag("assets", race_key, *(e.data_version for e in manifest.values()))
    return respond(if_none_match, lambda: dumps(body), etag=etag, entry=None)


@router.get(
    "/races/{race_key}/assets/{asset}",
    response_model=TablePage[Row],
    summary="Any asset of a race as a table page (column selection, sort, pagination)",
)
async def get_asset_table(
    store: StoreDep,
    race_key: RaceKey,
    asset: AssetName,
    q: TableQueryDep,
    if_none_match: IfNoneMatch,
) -> Response:
    return await serve_table(store, if_none_match, race_key, asset, q)


@router.get(
    "/races/{race_key}/assets/{asset}/parquet",
    responses={
        200: {"content": {PARQUET_MEDIA: {}}, "description": "the asset's Parquet file, streamed"}
    },
    response_class=Response,
    summary="Download an asset's Parquet file",
)
async def download_asset(
    store: StoreDep, race_key: RaceKey, asset: AssetName, if_none_match: IfNoneMatch
) -> Response:
    return await serve_parquet(store, if_none_match, race_key, asset)
