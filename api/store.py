"""Reads materialized race data through the shared storage layout (local folder or S3).

Everything here blocks (pyarrow, s3fs): route handlers call it through the threadpool, except
the `peek_*` methods, which only look at memory. Every storage read is a span.

Consistency: a file is served only when the sha256 of the bytes read equals the manifest's
`data_version` (re-reading the manifest once if they differ), so a response's provenance and
ETag always describe the bytes in it. A mismatch that persists (a rewrite in progress) is a 409.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from api.cache import LRUCache
from api.errors import ApiError
from nascar_pipeline.storage.layout import MANIFEST_DIR, ManifestEntry, StorageLayout
from nascar_pipeline.telemetry import get_tracer

tracer = get_tracer("api.store")


def not_found_race(race_key: str) -> ApiError:
    return ApiError(
        404,
        f"race {race_key!r} has nothing materialized (unknown race)",
        kind="race-not-found",
        race_key=race_key,
    )


def not_found_asset(race_key: str, asset: str) -> ApiError:
    return ApiError(
        404,
        f"asset {asset!r} is not materialized for race {race_key!r}",
        kind="asset-not-found",
        race_key=race_key,
        asset=asset,
    )


def asset_changing(detail: str, **extra: str) -> ApiError:
    """A file caught mid-rewrite: 409, retry in a second."""
    return ApiError(409, detail, kind="asset-changing", headers={"Retry-After": "1"}, **extra)


class RaceStore:
    def __init__(
        self,
        layout: StorageLayout,
        manifest_ttl_s: float = 2.0,
        max_items: int = 256,
        max_bytes: int = 512 * 1024 * 1024,
    ):
        self.layout = layout
        self.ttl = manifest_ttl_s
        self.cache = LRUCache(max_items=max_items, max_bytes=max_bytes)
        self._manifests: dict[str, tuple[float, dict[str, ManifestEntry]]] = {}
        self._race_keys: tuple[float, list[str]] | None = None
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    @property
    def root_uri(self) -> str:
        return self.layout.root_uri

    # ---- manifests (TTL-cached) ------------------------------------------------------------
    def peek_manifest(self, race_key: str) -> dict[str, ManifestEntry] | None:
        hit = self._manifests.get(race_key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        return None

    def stale_manifest(self, race_key: str) -> dict[str, ManifestEntry] | None:
        """The last manifest read, however old, for requests that arrive while another one
        re-reads it (stale-while-revalidate: one storage read per TTL, not one per request)."""
        hit = self._manifests.get(race_key)
        return hit[1] if hit is not None else None

    def begin_refresh(self, race_key: str) -> bool:
        """True for the one caller that should re-read the manifest now."""
        with self._lock:
            if race_key in self._refreshing:
                return False
            self._refreshing.add(race_key)
            return True

    def refresh_manifest(self, race_key: str) -> dict[str, ManifestEntry]:
        try:
            return self.manifest(race_key, fresh=True)
        finally:
            with self._lock:
                self._refreshing.discard(race_key)

    def manifest(self, race_key: str, fresh: bool = False) -> dict[str, ManifestEntry]:
        if not fresh:
            hit = self.peek_manifest(race_key)
            if hit is not None:
                return hit
        with tracer.start_as_current_span("storage.read_manifest") as span:
            span.set_attribute("race_key", race_key)
            span.set_attribute("storage.root", self.root_uri)
            self._forget_listing(self.layout.root / MANIFEST_DIR / race_key)
            entries = self.layout.read_manifest(race_key)
            span.set_attribute("assets", len(entries))
        with self._lock:
            self._manifests[race_key] = (time.monotonic(), entries)
            if len(self._manifests) > 10_000:
                self._manifests.pop(next(iter(self._manifests)))
        return entries

    def _forget_listing(self, path) -> None:
        """Object stores' clients (s3fs) cache directory listings for the life of the process;
        other processes write new races and assets, so drop the cached listing before each
        (TTL-bounded) re-read."""
        if path.protocol not in ("", "file", "local"):
            try:
                path.fs.invalidate_cache(path.path)
            except Exception:  # noqa: BLE001 - a cache miss is only slower
                pass

    def race_manifest(self, race_key: str) -> dict[str, ManifestEntry]:
        """The manifest of a known race; 404 when nothing is materialized for it."""
        entries = self.manifest(race_key)
        if not entries:
            raise not_found_race(race_key)
        return entries

    def race_keys(self) -> list[str]:
        hit = self._race_keys
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        with tracer.start_as_current_span("storage.list_races") as span:
            span.set_attribute("storage.root", self.root_uri)
            self._forget_listing(self.layout.root / MANIFEST_DIR)
            keys = self.layout.list_race_keys()
            span.set_attribute("races", len(keys))
        self._race_keys = (time.monotonic(), keys)
        return keys

    def entry(self, race_key: str, asset: str) -> ManifestEntry:
        entries = self.race_manifest(race_key)
        if asset not in entries:
            raise not_found_asset(race_key, asset)
        return entries[asset]

    def ping(self) -> dict[str, Any]:
        """Readiness: the root answers a listing and, when there is a race, its manifest reads."""
        with tracer.start_as_current_span("storage.ping") as span:
            span.set_attribute("storage.root", self.root_uri)
            root = self.layout.root
            if root.protocol in ("", "file", "local"):
                if not os.path.isdir(root.path):
                    raise FileNotFoundError("the storage root is not a readable folder")
            else:
                # the bucket must exist and answer (the prefix under it may still be empty)
                root.fs.info(root.path.split("/", 1)[0])
            keys = self.layout.list_race_keys()
            if keys:
                self.layout.read_manifest(keys[-1])
        return {"races": len(keys)}

    # ---- verified reads ---------------------------------------------------------------------
    def _read_verified(
        self, race_key: str, asset: str, entry: ManifestEntry, path_fn
    ) -> tuple[bytes, ManifestEntry]:
        with tracer.start_as_current_span("storage.read_asset") as span:
            span.set_attribute("race_key", race_key)
            span.set_attribute("asset", asset)
            span.set_attribute("storage.root", self.root_uri)
            path = path_fn()
            try:
                data = self.layout.read_bytes(path)
            except FileNotFoundError:
                data = None
            span.set_attribute("bytes", len(data) if data is not None else -1)
            if data is not None and hashlib.sha256(data).hexdigest()[:16] == entry.data_version:
                return data, entry
            # The file and the manifest disagree: re-read the manifest once (a newer write may
            # have landed between our manifest read and the file read).
            fresh = self.manifest(race_key, fresh=True).get(asset)
            if fresh is None:
                raise not_found_asset(race_key, asset)
            if data is not None and hashlib.sha256(data).hexdigest()[:16] == fresh.data_version:
                return data, fresh
            span.set_attribute("conflict", True)
            raise asset_changing(
                f"asset {asset!r} of race {race_key!r} is being rewritten "
                "(file and manifest disagree); retry shortly",
                race_key=race_key,
                asset=asset,
            )

    def asset_bytes(
        self, race_key: str, asset: str, entry: ManifestEntry | None = None
    ) -> tuple[bytes, ManifestEntry]:
        entry = entry or self.entry(race_key, asset)
        key = ("bytes", race_key, asset, entry.data_version)
        hit = self.cache.get(key)
        if hit is not None:
            return hit, entry
        data, entry = self._read_verified(
            race_key, asset, entry, lambda: self.layout.asset_path(asset, race_key)
        )
        self.cache.put(("bytes", race_key, asset, entry.data_version), data)
        return data, entry

    def frame(
        self, race_key: str, asset: str, entry: ManifestEntry | None = None
    ) -> tuple[pd.DataFrame, ManifestEntry]:
        """The asset as a DataFrame and the manifest entry that describes exactly those rows
        (newer than `entry` when a rewrite landed in between)."""
        entry = entry or self.entry(race_key, asset)

        def load() -> tuple[pd.DataFrame, ManifestEntry]:
            data, used = self._read_verified(
                race_key, asset, entry, lambda: self.layout.asset_path(asset, race_key)
            )
            with tracer.start_as_current_span("parquet.decode") as span:
                span.set_attribute("bytes", len(data))
                return pq.read_table(io.BytesIO(data)).to_pandas(), used

        return self.cache.get_or_load(("frame", race_key, asset, entry.data_version), load)

    def extra_bytes(self, race_key: str, asset: str, name: str) -> tuple[bytes, ManifestEntry]:
        """A file written beside an asset (e.g. `draftkings.csv` beside lineup_portfolio)."""
        entry = self.entry(race_key, asset)
        if name not in entry.extra_files:
            raise ApiError(
                404,
                f"file {name!r} of asset {asset!r} is not materialized for race {race_key!r}",
                kind="asset-file-not-found",
                race_key=race_key,
                asset=asset,
                file=name,
            )

        def load() -> bytes:
            with tracer.start_as_current_span("storage.read_extra") as span:
                span.set_attribute("race_key", race_key)
                span.set_attribute("asset", asset)
                span.set_attribute("file", name)
                path = self.layout.extra_path(asset, race_key, name)
                try:
                    data = self.layout.read_bytes(path)
                except FileNotFoundError:
                    raise asset_changing(
                        f"file {name!r} of asset {asset!r} is listed but missing "
                        "(being rewritten?); retry shortly",
                        asset=asset,
                        file=name,
                    ) from None
                span.set_attribute("bytes", len(data))
                return data

        # Extra files carry no digest of their own: they are keyed by the asset's data version
        # (the IO manager records them in the same manifest write as the Parquet file).
        data = self.cache.get_or_load(("extra", race_key, asset, name, entry.data_version), load)
        return data, entry

    def memo(self, key: tuple, build):
        """Cache anything derived from stored files; `key` must include the data versions."""
        return self.cache.get_or_load(("memo", *key), build)

    def peek_memo(self, key: tuple):
        """What `memo` cached under `key`, from memory only (None when it has not been built)."""
        return self.cache.get(("memo", *key))
