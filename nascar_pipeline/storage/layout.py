"""The storage layout: the one module that knows where materialized race data lives.

The Parquet IO manager writes through it and the API reads through it, so they cannot
disagree. Layout under a root (a local folder, file://..., or s3://bucket/prefix):

    <root>/<asset>/<race_key>.parquet              one file per asset per race
    <root>/<asset>/<race_key>.<name>               extra files beside it (e.g. upload CSVs)
    <root>/_manifests/<race_key>/<asset>.json      one manifest entry per asset per race
    <root>/<asset>.parquet                         unpartitioned assets (season reports)
    <root>/<asset>/<season>.<table>.parquet        season tables of a season-configured asset
                                                   (model_season_backtest: season, races,
                                                   track_types)

Writes are atomic (storage/atomic.py): on a file system the bytes go to a hidden temporary
name in the same folder, are fsynced, then renamed over the target; on S3 the object is one
PUT. Either way a reader sees the old file or the new one, never a torn one. Manifests are one file per asset
so concurrent writers of different assets of one race never lose each other's entries.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from nascar_pipeline.core.slugs import validate_race_key
from nascar_pipeline.storage.atomic import write_bytes_atomic

MANIFEST_DIR = "_manifests"


@dataclass
class ManifestEntry:
    asset: str
    race_key: str
    path: str  # relative to the root
    run_id: str | None
    code_version: str | None
    data_version: str  # sha256 of the file's bytes (first 16 hex digits)
    written_at: str  # ISO-8601 UTC
    rows: int
    bytes: int
    columns: list[list[str]] = field(default_factory=list)  # [[name, arrow type], ...]
    extra_files: dict[str, str] = field(default_factory=dict)  # name -> relative path

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=1)

    @classmethod
    def from_json(cls, text: str) -> ManifestEntry:
        data = json.loads(text)
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def _s3_options_from_settings(protocol: str) -> dict[str, Any]:
    """s3fs options from the pipeline settings (endpoint, region); credentials stay with the
    AWS SDK's own chain."""
    if protocol not in ("s3", "s3a"):
        return {}
    from nascar_pipeline.settings import get_settings

    settings = get_settings()
    client_kwargs: dict[str, Any] = {}
    if settings.aws_endpoint_url:
        client_kwargs["endpoint_url"] = settings.aws_endpoint_url
    if settings.aws_region:
        client_kwargs["region_name"] = settings.aws_region
    return {"client_kwargs": client_kwargs} if client_kwargs else {}


def _check_name(kind: str, value: str) -> str:
    if not value or "/" in value or "\\" in value or value in (".", "..") or value.startswith("."):
        raise ValueError(f"invalid {kind} {value!r}: a plain name is required")
    return value


class StorageLayout:
    """Paths and atomic reads/writes under one storage root."""

    def __init__(self, root: str | os.PathLike | UPath, **storage_options: Any):
        root_str = str(root)
        if "://" not in root_str:
            root_str = os.path.abspath(root_str)
        probe = UPath(root_str)
        opts = {**_s3_options_from_settings(probe.protocol), **storage_options}
        self.root: UPath = UPath(root_str, **opts) if opts else probe
        self.root_uri = root_str

    # ---- paths -------------------------------------------------------------------------
    def asset_path(self, asset: str, race_key: str | None = None) -> UPath:
        _check_name("asset", asset)
        if race_key is None:
            return self.root / f"{asset}.parquet"
        return self.root / asset / f"{validate_race_key(race_key)}.parquet"

    def extra_path(self, asset: str, race_key: str, name: str) -> UPath:
        _check_name("asset", asset)
        _check_name("file name", name)
        return self.root / asset / f"{validate_race_key(race_key)}.{name}"

    def season_table_path(self, asset: str, season: int, table: str) -> UPath:
        """One of the season-wide tables an unpartitioned asset writes per season (its run
        config names the season), so seasons do not overwrite each other."""
        _check_name("asset", asset)
        _check_name("table", table)
        return self.root / asset / f"{int(season)}.{table}.parquet"

    def manifest_path(self, race_key: str, asset: str) -> UPath:
        _check_name("asset", asset)
        return self.root / MANIFEST_DIR / validate_race_key(race_key) / f"{asset}.json"

    def relative(self, path: UPath) -> str:
        return str(path.path)[len(str(self.root.path)) :].lstrip("/")

    # ---- atomic bytes ------------------------------------------------------------------
    def write_bytes_atomic(self, path: UPath, data: bytes) -> None:
        write_bytes_atomic(path, data)

    def read_bytes(self, path: UPath) -> bytes:
        return path.read_bytes()

    def exists(self, path: UPath) -> bool:
        return path.exists()

    # ---- parquet -------------------------------------------------------------------------
    @staticmethod
    def parquet_bytes(df: pd.DataFrame) -> bytes:
        table = pa.Table.from_pandas(df, preserve_index=False)
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        return buf.getvalue()

    def write_parquet(self, path: UPath, df: pd.DataFrame) -> tuple[bytes, pa.Schema]:
        data = self.parquet_bytes(df)
        self.write_bytes_atomic(path, data)
        return data, pa.Table.from_pandas(df.head(0), preserve_index=False).schema

    def read_parquet_path(self, path: UPath, columns: list[str] | None = None) -> pd.DataFrame:
        with path.open("rb") as fh:
            return pq.read_table(fh, columns=columns).to_pandas()

    def read_asset(
        self, asset: str, race_key: str | None = None, columns: list[str] | None = None
    ) -> pd.DataFrame:
        path = self.asset_path(asset, race_key)
        if not path.exists():
            raise FileNotFoundError(
                f"asset {asset!r} is not materialized"
                + (f" for race {race_key!r}" if race_key else "")
            )
        return self.read_parquet_path(path, columns)

    # ---- manifests -------------------------------------------------------------------------
    def write_manifest_entry(self, entry: ManifestEntry) -> None:
        self.write_bytes_atomic(
            self.manifest_path(entry.race_key, entry.asset), entry.to_json().encode()
        )

    def read_manifest(self, race_key: str) -> dict[str, ManifestEntry]:
        folder = self.root / MANIFEST_DIR / validate_race_key(race_key)
        if not folder.exists():
            return {}
        out: dict[str, ManifestEntry] = {}
        for p in sorted(folder.iterdir(), key=lambda q: q.name):
            if p.name.endswith(".json") and not p.name.startswith("."):
                entry = ManifestEntry.from_json(p.read_text())
                out[entry.asset] = entry
        return out

    def list_race_keys(self) -> list[str]:
        folder = self.root / MANIFEST_DIR
        if not folder.exists():
            return []
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))

    def record(
        self,
        *,
        asset: str,
        race_key: str,
        path: UPath,
        data: bytes,
        schema: pa.Schema,
        rows: int,
        run_id: str | None,
        code_version: str | None,
        extra_files: dict[str, str] | None = None,
    ) -> ManifestEntry:
        entry = ManifestEntry(
            asset=asset,
            race_key=race_key,
            path=self.relative(path),
            run_id=run_id,
            code_version=code_version,
            data_version=hashlib.sha256(data).hexdigest()[:16],
            written_at=datetime.now(UTC).isoformat(timespec="seconds"),
            rows=int(rows),
            bytes=len(data),
            columns=[[f.name, str(f.type)] for f in schema],
            extra_files=dict(extra_files or {}),
        )
        self.write_manifest_entry(entry)
        return entry


def layout_from_env() -> StorageLayout:
    """The layout at the configured storage root (STORAGE_ROOT, through the settings)."""
    from nascar_pipeline.settings import get_settings

    return StorageLayout(get_settings().storage_root)
