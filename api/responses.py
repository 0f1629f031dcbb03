"""Rendering data responses: JSON bodies, ETags and 304s, provenance headers, file downloads.

Every data response carries an ETag, `Cache-Control: private, no-cache` and, when it was read
from one stored file, that file's provenance (X-Run-Id, X-Code-Version, X-Data-Version,
X-Written-At, X-Asset). Bodies are serialized by hand (no pydantic pass over the rows); their
shapes are declared in api/schemas.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from starlette.responses import Response, StreamingResponse

from nascar_pipeline.storage.layout import ManifestEntry

CACHE_CONTROL = "private, no-cache"
PARQUET_MEDIA = "application/vnd.apache.parquet"
CSV_MEDIA = "text/csv; charset=utf-8"
_CHUNK = 1 << 20


# ---- ETags ------------------------------------------------------------------------------------
def make_etag(*parts: str, weak: bool = False) -> str:
    tag = parts[0] if len(parts) == 1 else hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]
    return f'W/"{tag}"' if weak else f'"{tag}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match (weak comparison, `*`, lists) against our ETag."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == bare for t in if_none_match.split(","))


# ---- provenance --------------------------------------------------------------------------------
def provenance(entry: ManifestEntry) -> dict[str, Any]:
    """The `provenance` member of a body (api.schemas.Provenance)."""
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


# ---- responses ---------------------------------------------------------------------------------
def respond(
    if_none_match: str | None,
    body: bytes | Callable[[], bytes],
    *,
    etag: str,
    entry: ManifestEntry | None,
    media_type: str = "application/json",
    extra_headers: dict[str, str] | None = None,
) -> Response:
    """A 304 when If-None-Match matches `etag`, else a 200 with `body` (bytes, or a callable
    that renders them: not called for a 304)."""
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if entry is not None:
        headers.update(provenance_headers(entry))
    if extra_headers:
        headers.update(extra_headers)
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(
        body if isinstance(body, bytes) else body(), media_type=media_type, headers=headers
    )


def not_modified(if_none_match: str | None, etag: str, entry: ManifestEntry) -> Response | None:
    """The 304 for a revalidation that needs no body (so no storage read), else None."""
    if etag_matches(if_none_match, etag):
        return respond(if_none_match, b"", etag=etag, entry=entry)
    return None


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
        return etag_matches(if_none_match, self.etag)

    def response(self, if_none_match: str | None) -> Response:
        if self.not_modified(if_none_match):
            return CachedResponse(304, self.not_modified_headers, b"")
        return CachedResponse(200, self.ok_headers, self.body)


# ---- files ---------------------------------------------------------------------------------------
def parquet_download(
    if_none_match: str | None, data: bytes, entry: ManifestEntry, filename: str
) -> Response:
    """A stored Parquet file, streamed in 1 MiB chunks; its ETag is its data version."""
    resp = respond(if_none_match, b"", etag=make_etag(entry.data_version), entry=entry)
    if resp.status_code == 304:
        return resp

    def chunks():
        view = memoryview(data)
        for i in range(0, len(view), _CHUNK):
            yield bytes(view[i : i + _CHUNK])

    headers = dict(resp.headers)
    headers.pop("content-length", None)
    headers.pop("content-type", None)
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    headers["Content-Length"] = str(len(data))
    return StreamingResponse(chunks(), media_type=PARQUET_MEDIA, headers=headers)


def csv_download(
    if_none_match: str | None, data: bytes, entry: ManifestEntry, name: str, filename: str
) -> Response:
    """A CSV file written beside an asset, as stored; its ETag is the asset's version and name."""
    return respond(
        if_none_match,
        data,
        etag=make_etag(entry.data_version, name),
        entry=entry,
        media_type=CSV_MEDIA,
        extra_headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# ---- JSON bodies ---------------------------------------------------------------------------------
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
    """`fields` as a JSON object, with `rows` (a frame) as its member `rows_key`."""
    head = dumps(fields)
    if rows_key is None:
        return head
    return head[:-1] + b',"' + rows_key.encode() + b'":' + records_json(rows) + b"}"
