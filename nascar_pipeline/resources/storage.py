"""`StorageResource`: where materialized race data lives, as one typed resource.

Every asset, check and sensor that touches storage takes `storage: StorageResource`, and the
Parquet IO manager is built from the same resource (`storage.io_manager()`), so one root
reaches both: nothing reads STORAGE_ROOT but definitions.py, once. Paths and atomic writes are
the storage layout's (storage/layout.py); this resource only names what the assets keep beside
their Parquet files: upload CSVs, backtest lineups and the model's fit cache.
"""

from collections.abc import Mapping

from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from nascar_pipeline.resources.fit_cache import FitCache
from nascar_pipeline.storage.layout import StorageLayout


class StorageResource(ConfigurableResource):
    """The storage root: a folder path, file:// or s3://bucket/prefix (S3 endpoint and
    credentials from the standard AWS environment variables, read by the layout)."""

    root: str = Field(description="storage root: folder path, file:// or s3://bucket/prefix")

    _layout: StorageLayout | None = PrivateAttr(default=None)

    @property
    def layout(self) -> StorageLayout:
        if self._layout is None:
            self._layout = StorageLayout(self.root)
        return self._layout

    def io_manager(self):
        """The Parquet IO manager writing under this root (bind it as `parquet_io_manager`)."""
        from nascar_pipeline.resources.parquet_io import ParquetIOManager

        return ParquetIOManager(storage=self)

    def fit_cache(self) -> FitCache:
        return FitCache(self.layout)

    def write_beside(self, asset: str, race_key: str, files: Mapping[str, bytes | None]) -> None:
        """The files kept beside an asset's race file, `<root>/<asset>/<race_key>.<name>`: each
        name with bytes is written atomically, each name with None is removed, so no file of
        an earlier run outlives the run that no longer produces it. The IO manager lists the
        files present in the asset's manifest entry."""
        layout = self.layout
        for name, data in files.items():
            path = layout.extra_path(asset, race_key, name)
            if data is not None:
                layout.write_bytes_atomic(path, data)
            elif layout.exists(path):
                path.unlink()

    def read_beside(self, asset: str, race_key: str, name: str) -> bytes | None:
        """A file kept beside an asset's race file, or None when there is none."""
        path = self.layout.extra_path(asset, race_key, name)
        return self.layout.read_bytes(path) if self.layout.exists(path) else None


def storage_resources(root: str) -> dict:
    """The storage resource keys bound to one root: `storage` and `parquet_io_manager`; plus
    `jax_runtime` (the JAX set-up the model assets need, at the settings' cache folder), so every
    caller that materializes race assets has it (definitions.py binds its own over it)."""
    from nascar_pipeline.resources.jax_runtime import JaxRuntime

    storage = StorageResource(root=str(root))
    return {
        "storage": storage,
        "parquet_io_manager": storage.io_manager(),
        "jax_runtime": JaxRuntime(),
    }
