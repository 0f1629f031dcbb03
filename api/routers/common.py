"""Helpers shared by the data routers: path validation, provenance, ETags and JSON bodies."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import Depends, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.errors import ApiError
from api.store import RaceStore
from nascar_pipeline.core.slugs import MAX_RACE_KEY_LEN, RACE_KEY_RE, is_valid_race_key
from nascar_pipeline.storage.layout import ManifestEntry

ASSET_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
CACHE_CONTROL = "private, no-cache"


# ---- path parameters, validated before any storage call ------------------------------------
async def _race_key(
    race_key: Annotated[
        str,
        Path(
            description="race key: a slug of lower-case letters, digits and single hyphens "
            "(anything else is a 400 before any storage read)",
            examples=["2027-daytona-daytona-500"],
            # documented, not enforced by FastAPI: the check below answers 400 with a clear body
            json_schema_extra={"pattern": RACE_KEY_RE.pattern, "maxLength": MAX_RACE_KEY_LEN},
        ),
    ],
) -> str:
    if not is_valid_race_key(race_key):
        raise ApiError(
            400,
            "race key is not a valid slug ([a-z0-9] words joined by single "
            "hyphens, at most 96 characters)",
            kind="invalid-race-key",
        )
    return race_key


async def _asset(
    asset: Annotated[
        str,
        Path(
            description="asset name, e.g. driver_projections",
            examples=["driver_projections"],
            json_schema_extra={"pattern": ASSET_NAME_RE.pattern},
        ),
    ],
) -> str:
    if not ASSET_NAME_RE.match(asset):
        raise ApiError(400, "asset name is not valid ([a-z][a-z0-9_]*)", kind="invalid-asset")
    return asset


RaceKey = Annotated[str, Depends(_race_key)]
AssetName = Annotated[str, Depends(_asset)]


async def get_store(request: Request) -> RaceStore:
    return request.app.state.store


StoreDep = Annotated[RaceStore, Depends(get_store)]


# ---- models for the OpenAPI schema (bodies are serialized by hand, for speed) ----------------
class Provenance(BaseModel):
    asset: str
    race_key: str
    path: str
    run_id: str | None
    code_version: str | None
    data_version: str
    written_at: str
    rows: int
    bytes: int


class ColumnInfo(BaseModel):
    name: str
    type: str


class TablePage(BaseModel):
    race_key: str
    asset: str
    provenance: Provenance
    columns: list[ColumnInfo]
    total: int
    offset: int
    limit: int
    rows: list[dict[str, Any]]


def provenance(entry: ManifestEntry) -> dict[str, Any]:
    return {
        "asset": entry.asset,
        "race_key": entry.race_key,
        "path": entry.path,
        "run_id": entry.run_id,
        "code_version": entry.code_version,
        "data_version": entry.data_version,
        "written_at": entry.written_at,
        "rows": entry.rows,
        "bytes": entry.bytes,
    }


def provenance_headers(entry: ManifestEntry) -> dict[str, str]:
    return {
        "X-Run-Id": entry.run_id or "",
        "X-Code-Version": entry.code_version or "",
        "X-Data-Version": entry.data_version,
        "X-Written-At": entry.written_at,
        "X-Asset": entry.asset,
    }


def make_etag(*parts: str, weak: bool = False) -> str:
    tag = parts[0] if len(parts) == 1 else hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]
    return f'W/"{tag}"' if weak else f'"{tag}"'


def _matches(if_none_match: str, etag: str) -> bool:
    if if_none_match.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == bare for t in if_none_match.split(","))


def respond(
    request: Request,
    body: bytes | None,
    *,
    etag: str,
    entry: ManifestEntry | None,
    media_type: str = "application/json",
    build=None,
    extra_headers: dict[str, str] | None = None,
) -> Response:
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if entry is not None:
        headers.update(provenance_headers(entry))
    if extra_headers:
        headers.update(extra_headers)
    inm = request.headers.get("if-none-match")
    if inm and _matches(inm, etag):
        return Response(status_code=304, headers=headers)
    return Response(body if body is not None else build(), media_type=media_type, headers=headers)


class CachedResponse(Response):
    """A response whose status, headers and body were rendered before (see Prepared)."""

    def __init__(self, status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes):
        self.status_code = status
        self.raw_headers = list(raw_headers)
        self.body = body
        self.background = None


class Prepared:
    """A data response rendered once per data version: its 200 (headers and body, exactly as
    `respond` renders them) and its 304. Cached by the store, so a hit does no pandas or JSON
    work; the request middleware can send it without entering FastAPI (api/fastpath.py)."""

    __slots__ = ("entry", "etag", "body", "ok_headers", "not_modified_headers")

    def __init__(
        self, body: bytes, *, etag: str, entry: ManifestEntry, media_type: str = "application/json"
    ):
        headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, **provenance_headers(entry)}
        self.entry = entry
        self.etag = etag
        self.body = body
        self.ok_headers = Response(body, media_type=media_type, headers=headers).raw_headers
        self.not_modified_headers = Response(status_code=304, headers=headers).raw_headers

    @property
    def nbytes(self) -> int:  # for the cache's byte bound
        return len(self.body)

    def not_modified(self, if_none_match: str | None) -> bool:
        return bool(if_none_match) and _matches(if_none_match, self.etag)

    def response(self, if_none_match: str | None) -> Response:
        if self.not_modified(if_none_match):
            return CachedResponse(304, self.not_modified_headers, b"")
        return CachedResponse(200, self.ok_headers, self.body)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, default=_json_default, separators=(",", ":")).encode()


def _json_default(o: Any):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if np.isnan(o) else float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if o is pd.NA or o is pd.NaT:
        return None
    return str(o)


def records_json(df: pd.DataFrame) -> bytes:
    """Rows as a JSON array (NaN/NA -> null) without a Python object per cell."""
    if df.empty:
        return b"[]"
    return df.to_json(orient="records", date_format="iso", double_precision=6).encode()


def json_envelope(
    fields: dict[str, Any], rows_key: str | None = None, rows: pd.DataFrame | None = None
) -> bytes:
    head = dumps(fields)
    if rows_key is None:
        return head
    return head[:-1] + b',"' + rows_key.encode() + b'":' + records_json(rows) + b"}"


# ---- table queries ----------------------------------------------------------------------------
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


async def table_query(
    columns: Annotated[
        str | None,
        Query(description="comma-separated columns to return (default: all)", max_length=4000),
    ] = None,
    sort: Annotated[
        str | None,
        Query(
            description="comma-separated columns; prefix - for "
            "descending, e.g. -dk_mean,driver_name",
            max_length=4000,
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> TableQuery:
    return TableQuery(columns=columns, sort=sort, limit=limit, offset=offset)


TableQueryDep = Annotated[TableQuery, Depends(table_query)]


def _names(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def apply_table_query(
    df: pd.DataFrame, q: TableQuery, asset: str, default_sort: Iterable[str] = ()
) -> tuple[pd.DataFrame, int]:
    known = list(df.columns)
    cols = _names(q.columns)
    bad = [c for c in cols if c not in known]
    if bad:
        raise ApiError(
            400,
            f"unknown column(s) {bad} for asset {asset!r}",
            kind="unknown-column",
            asset=asset,
            columns=known,
        )
    sort = _names(q.sort) or [s for s in default_sort if s.lstrip("-") in known]
    by, asc = [], []
    for s in sort:
        name = s[1:] if s[:1] in "-+" else s
        if name not in known:
            raise ApiError(
                400,
                f"cannot sort by unknown column {name!r} of asset {asset!r}",
                kind="unknown-column",
                asset=asset,
                columns=known,
            )
        by.append(name)
        asc.append(not s.startswith("-"))
    out = df
    if by:
        out = out.sort_values(by, ascending=asc, kind="stable", na_position="last")
    total = len(out)
    out = out.iloc[q.offset : q.offset + q.limit]
    if cols:
        out = out[list(dict.fromkeys(cols))]
    return out, total


def table_page_body(
    df: pd.DataFrame,
    entry: ManifestEntry,
    q: TableQuery,
    asset: str,
    default_sort: Iterable[str] = (),
) -> bytes:
    page, total = apply_table_query(df, q, asset, default_sort)
    types = dict(map(tuple, entry.columns)) if entry.columns else {}
    columns = [{"name": c, "type": types.get(c, str(page[c].dtype))} for c in page.columns]
    return json_envelope(
        {
            "race_key": entry.race_key,
            "asset": asset,
            "provenance": provenance(entry),
            "columns": columns,
            "total": total,
            "offset": q.offset,
            "limit": q.limit,
        },
        "rows",
        page,
    )


_REFRESHES: set = set()


def manifest_now(store: RaceStore, race_key: str) -> dict[str, ManifestEntry] | None:
    """The race's manifest without waiting: from memory while fresh; once expired, the previous
    one while one background task re-reads it (in the threadpool). None when a request must
    wait for a storage read: the first for a race, or every one with a TTL of 0."""
    manifest = store.peek_manifest(race_key)
    if manifest is not None:
        return manifest
    stale = store.stale_manifest(race_key)
    if stale is None or store.ttl <= 0:
        return None
    if store.begin_refresh(race_key):
        task = asyncio.get_running_loop().create_task(
            run_in_threadpool(store.refresh_manifest, race_key)
        )
        _REFRESHES.add(task)  # keep a reference until it is done
        task.add_done_callback(_REFRESHES.discard)
    return stale


async def current_manifest(store: RaceStore, race_key: str) -> dict[str, ManifestEntry]:
    """The race's manifest: from memory while fresh. When it has expired, one background task
    re-reads it (in the threadpool) while requests keep using the previous one, so no request
    waits on a storage read except the first for a race (or every one, with a TTL of 0)."""
    manifest = manifest_now(store, race_key)
    if manifest is not None:
        return manifest
    return await run_in_threadpool(store.manifest, race_key, store.ttl <= 0)


async def serve_table(
    request: Request,
    store: RaceStore,
    race_key: str,
    asset: str,
    q: TableQuery,
    default_sort: Iterable[str] = (),
) -> Response:
    """The generic table response: memory-only on the hot path, storage in the threadpool."""
    manifest = await current_manifest(store, race_key)
    if not manifest:
        from api.store import not_found_race

        raise not_found_race(race_key)
    entry = manifest.get(asset)
    if entry is None:
        from api.store import not_found_asset

        raise not_found_asset(race_key, asset)
    default_sort = tuple(default_sort)
    etag = make_etag(entry.data_version, "table", *map(str, q.key()), *default_sort)
    inm = request.headers.get("if-none-match")
    if inm and _matches(inm, etag):
        return respond(request, b"", etag=etag, entry=entry)
    key = ("table", race_key, asset, entry.data_version, q.key(), default_sort)
    hit = store.cache.get(("memo", *key))
    if hit is None:

        def build() -> tuple[bytes, ManifestEntry]:
            df, used = store.frame(race_key, asset, entry)
            return table_page_body(df, used, q, asset, default_sort), used

        hit = await run_in_threadpool(store.memo, key, build)
    body, used = hit
    if used.data_version != entry.data_version:
        etag = make_etag(used.data_version, "table", *map(str, q.key()), *default_sort)
    return respond(request, body, etag=etag, entry=used)
