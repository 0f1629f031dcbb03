"""The read path of the data routes: the race's manifest from memory (storage only when it must),
the stored files through the store (api/store.py, over nascar_pipeline.storage.layout), and
responses rendered once per data version. Nothing here recomputes an asset.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.errors import ApiError
from api.responses import (
    Prepared,
    etag_matches,
    json_envelope,
    make_etag,
    parquet_download,
    provenance,
    respond,
)
from api.schemas import TableQuery
from api.store import RaceStore, not_found_asset, not_found_race
from nascar_pipeline.storage.layout import ManifestEntry

_REFRESHES: set = set()


# ---- the race's manifest -------------------------------------------------------------------
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
    """The race's manifest (404 when nothing is materialized for it): from memory while fresh.
    When it has expired, one background task re-reads it while requests keep using the previous
    one, so no request waits on a storage read except the first for a race (or every one, with a
    TTL of 0)."""
    manifest = manifest_now(store, race_key)
    if manifest is None:
        manifest = await run_in_threadpool(store.manifest, race_key, store.ttl <= 0)
    if not manifest:
        raise not_found_race(race_key)
    return manifest


def need(manifest: dict[str, ManifestEntry], race_key: str, asset: str) -> ManifestEntry:
    """The asset's entry in the race's manifest (404 naming it when it is not materialized)."""
    entry = manifest.get(asset)
    if entry is None:
        raise not_found_asset(race_key, asset)
    return entry


# ---- rendered once per data version ----------------------------------------------------------
async def serve_rendered(
    store: RaceStore,
    if_none_match: str | None,
    key: tuple,
    etag: str,
    entry: ManifestEntry,
    render: Callable[[], Prepared],
) -> Response:
    """The response cached under `key` (which holds the data versions it was read from); a 304
    without any read when the client's copy is current; else rendered in the threadpool, once
    however many requests ask at the same time."""
    prepared = store.peek_memo(key)
    if prepared is None:
        if etag_matches(if_none_match, etag):
            return respond(if_none_match, b"", etag=etag, entry=entry)
        prepared = await run_in_threadpool(store.memo, key, render)
    return prepared.response(if_none_match)


# ---- the contest filter (`?contest_id=`) --------------------------------------------------------
def contest_ids(df: pd.DataFrame) -> list[str]:
    """The contests an asset's rows are for, in their order ([] for a build from before)."""
    if "contest_id" not in df.columns:
        return []
    return [str(c) for c in dict.fromkeys(df["contest_id"].dropna().astype(str))]


def filter_contest(df: pd.DataFrame, contest_id: str | None, asset: str) -> pd.DataFrame:
    """The rows of one contest (all rows when contest_id is None); 404 naming the race's
    contests when the asset has none of that id."""
    if contest_id is None:
        return df
    known = contest_ids(df)
    if contest_id not in known:
        raise ApiError(
            404,
            f"asset {asset!r} has no contest {contest_id!r} (contests: {', '.join(known) or 'none'})",
            kind="contest-not-found",
            asset=asset,
            contests=known,
        )
    return df[df["contest_id"].astype(str) == contest_id].reset_index(drop=True)


# ---- table pages ------------------------------------------------------------------------------
async def serve_table(
    store: RaceStore,
    if_none_match: str | None,
    race_key: str,
    asset: str,
    q: TableQuery,
    default_sort: Iterable[str] = (),
    contest_id: str | None = None,
) -> Response:
    """A page of any stored asset (api.schemas.TablePage), of one contest's rows when
    contest_id is given."""
    entry = need(await current_manifest(store, race_key), race_key, asset)
    default_sort = tuple(default_sort)
    contest = () if contest_id is None else ("contest", contest_id)

    def etag(version: str) -> str:
        return make_etag(version, "table", *map(str, q.key()), *default_sort, *contest)

    def render() -> Prepared:
        df, used = store.frame(race_key, asset, entry)
        df = filter_contest(df, contest_id, asset)
        body = table_page_body(df, used, q, asset, default_sort)
        return Prepared(body, etag=etag(used.data_version), entry=used)

    key = ("table", race_key, asset, entry.data_version, q.key(), default_sort, *contest)
    return await serve_rendered(store, if_none_match, key, etag(entry.data_version), entry, render)


def table_page_body(
    df: pd.DataFrame, entry: ManifestEntry, q: TableQuery, asset: str, default_sort: Iterable[str]
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


def apply_table_query(
    df: pd.DataFrame, q: TableQuery, asset: str, default_sort: Iterable[str] = ()
) -> tuple[pd.DataFrame, int]:
    """Sort (the query's, else the route's default where those columns exist), page, select."""
    known = list(df.columns)
    cols = _names(q.columns)
    bad = [c for c in cols if c not in known]
    if bad:
        raise _unknown_column(f"unknown column(s) {bad} for asset {asset!r}", asset, known)
    sort = _names(q.sort) or [s for s in default_sort if s.lstrip("-") in known]
    by, asc = [], []
    for s in sort:
        name = s[1:] if s[:1] in "-+" else s
        if name not in known:
            raise _unknown_column(
                f"cannot sort by unknown column {name!r} of asset {asset!r}", asset, known
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


def _names(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def _unknown_column(detail: str, asset: str, known: list[str]) -> ApiError:
    return ApiError(400, detail, kind="unknown-column", asset=asset, columns=known)


# ---- stored files -----------------------------------------------------------------------------
async def serve_parquet(
    store: RaceStore, if_none_match: str | None, race_key: str, asset: str
) -> Response:
    """The asset's Parquet file as stored (verified against its manifest entry), streamed."""
    data, entry = await run_in_threadpool(store.asset_bytes, race_key, asset)
    return parquet_download(if_none_match, data, entry, f"{race_key}.{asset}.parquet")


# ---- the race snapshot ------------------------------------------------------------------------
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


def snapshot_entries(store: RaceStore, race_key: str, entry: ManifestEntry) -> pd.DataFrame:
    """The race's entry list: the race_snapshot rows whose role is `entry`."""
    df, _ = store.frame(race_key, "race_snapshot", entry)
    return df[df["role"] == "entry"] if "role" in df.columns else df


def race_fields(store: RaceStore, race_key: str, manifest: dict[str, ManifestEntry]) -> dict:
    """Race-level fields from the race's race_snapshot entry rows (cached by its version)."""
    entry = manifest.get("race_snapshot")
    if entry is None:
        return {}

    def build() -> dict:
        rows = snapshot_entries(store, race_key, entry)
        if rows.empty:
            return {"entries": 0}
        first = rows.iloc[0]
        out = {f: _scalar(first[f]) for f in _RACE_FIELDS if f in rows.columns}
        out["entries"] = int(len(rows))
        return out

    return store.memo(("race_fields", race_key, entry.data_version), build)


def _scalar(v: Any) -> Any:
    if v is None or v is pd.NA:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v.item() if hasattr(v, "item") else v
