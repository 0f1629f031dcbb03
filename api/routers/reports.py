"""The exposure and leverage report of a race's build (the exposure_report asset): per contest
the driver table (the asset's Parquet) and the lineup table (the Parquet file beside it). Served
from the stored files only, as table pages (columns, sort, limit, offset) of one contest or all.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from typing import Annotated

import pandas as pd
import pyarrow.parquet as pq
from fastapi import APIRouter, Query
from starlette.responses import Response

from api.deps import AUTHENTICATED, IfNoneMatch, RaceKey, StoreDep, TableQueryDep
from api.errors import DATA_ERRORS, ApiError
from api.reads import current_manifest, need, serve_rendered, table_page_body
from api.report_schemas import ExposureDriverRow, ExposureLineupRow
from api.responses import Prepared, make_etag
from api.schemas import TablePage, TableQuery
from api.store import RaceStore
from nascar_pipeline.core.exposure_report import LINEUPS_FILE, REPORT_ASSET
from nascar_pipeline.storage.layout import ManifestEntry

router = APIRouter(
    prefix="/v1/races/{race_key}/exposure-report",
    tags=["reports"],
    responses=DATA_ERRORS,
    dependencies=[AUTHENTICATED],
)

ContestId = Annotated[
    str | None,
    Query(
        description="one contest's rows (e.g. dk-180001234; 'race' for a build without contest "
        "ids); default: every contest",
        max_length=200,
    ),
]


def _driver_frame(store: RaceStore, race_key: str, entry: ManifestEntry):
    return store.frame(race_key, REPORT_ASSET, entry)


def _lineup_frame(store: RaceStore, race_key: str, entry: ManifestEntry):
    """The lineup table beside the asset, decoded once per data version of the asset. Its own
    columns' types (the manifest's are the driver table's)."""

    def load() -> tuple[pd.DataFrame, ManifestEntry]:
        data, used = store.extra_bytes(race_key, REPORT_ASSET, LINEUPS_FILE)
        return pq.read_table(io.BytesIO(data)).to_pandas(), dataclasses.replace(used, columns=[])

    return store.memo(("report-lineups", race_key, entry.data_version), load)


def _one_contest(df: pd.DataFrame, contest_id: str | None, race_key: str) -> pd.DataFrame:
    if contest_id is None:
        return df
    ids = df["contest_id"].astype(str)
    if not (ids == contest_id).any():
        known = list(dict.fromkeys(ids))
        raise ApiError(
            404,
            f"contest {contest_id!r} is not in the exposure report of race {race_key!r} "
            f"(contests: {', '.join(known) or 'none'})",
            kind="contest-not-found",
            race_key=race_key,
            contest_id=contest_id,
            contests=known,
        )
    return df[ids == contest_id]


async def _serve(
    store: RaceStore,
    if_none_match: str | None,
    race_key: str,
    q: TableQuery,
    contest_id: str | None,
    table: str,
    read: Callable[[RaceStore, str, ManifestEntry], tuple[pd.DataFrame, ManifestEntry]],
) -> Response:
    entry = need(await current_manifest(store, race_key), race_key, REPORT_ASSET)
    parts = (table, contest_id or "", *map(str, q.key()))

    def render() -> Prepared:
        df, used = read(store, race_key, entry)
        rows = _one_contest(df, contest_id, race_key)
        body = table_page_body(rows, used, q, REPORT_ASSET, ())
        return Prepared(body, etag=make_etag(used.data_version, *parts), entry=used)

    key = ("report", race_key, entry.data_version, *parts)
    etag = make_etag(entry.data_version, *parts)
    return await serve_rendered(store, if_none_match, key, etag, entry, render)


@router.get(
    "/drivers",
    response_model=TablePage[ExposureDriverRow],
    summary="Exposure report, drivers: our exposure, the limits asked, field ownership, "
    "leverage, per contest",
)
async def exposure_drivers(
    store: StoreDep,
    race_key: RaceKey,
    q: TableQueryDep,
    if_none_match: IfNoneMatch,
    contest_id: ContestId = None,
) -> Response:
    return await _serve(store, if_none_match, race_key, q, contest_id, "drivers", _driver_frame)


@router.get(
    "/lineups",
    response_model=TablePage[ExposureLineupRow],
    summary="Exposure report, lineups: projection, ceiling, simulated ROI / cash / win / "
    "top-1 %, duplicates, per contest",
)
async def exposure_lineups(
    store: StoreDep,
    race_key: RaceKey,
    q: TableQueryDep,
    if_none_match: IfNoneMatch,
    contest_id: ContestId = None,
) -> Response:
    return await _serve(store, if_none_match, race_key, q, contest_id, "lineups", _lineup_frame)
