"""Parquet IO manager on universal-pathlib, writing through the shared storage layout.

`<root>/<asset>/<race_key>.parquet` for race-partitioned assets, atomically (see
storage/layout.py), plus a manifest entry per asset per race that the API serves as
provenance (run id, code version, data version, written at). Built from the StorageResource
(`storage.io_manager()`), so the IO manager and the assets share one root.
"""

import pandas as pd
from dagster import (
    ConfigurableIOManagerFactory,
    InputContext,
    OutputContext,
    ResourceDependency,
    TableColumn,
    TableSchema,
    UPathIOManager,
)
from upath import UPath

from nascar_pipeline import __version__
from nascar_pipeline.resources.storage import StorageResource
from nascar_pipeline.storage.layout import StorageLayout
from nascar_pipeline.telemetry import get_tracer

_tracer = get_tracer("nascar_pipeline.storage")


class _LayoutIOManager(UPathIOManager):
    extension = ".parquet"

    def __init__(self, layout: StorageLayout):
        self.layout = layout
        super().__init__(base_path=layout.root)

    def dump_to_path(self, context: OutputContext, obj: pd.DataFrame, path: UPath) -> None:
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(
                f"{context.asset_key.to_user_string()} must return a pandas DataFrame, "
                f"got {type(obj).__name__}"
            )
        asset = context.asset_key.path[-1]
        with _tracer.start_as_current_span(
            "storage.write",
            attributes={"storage.path": str(path), "dagster.asset": asset, "rows": len(obj)},
        ):
            data, schema = self.layout.write_parquet(path, obj)
        meta: dict = {
            "dagster/row_count": len(obj),
            "bytes": len(data),
            "dagster/column_schema": TableSchema(
                columns=[TableColumn(f.name, str(f.type)) for f in schema]
            ),
        }
        if context.has_asset_partitions:
            race_key = context.asset_partition_key
            extras = {
                p.name[len(race_key) + 1 :]: self.layout.relative(p)
                for p in path.parent.iterdir()
                # files beside the asset (upload CSVs, extra Parquet tables), not the asset itself
                if p.name.startswith(race_key + ".")
                and p.name != f"{race_key}.parquet"
                and not p.name.startswith(".")
            }
            entry = self.layout.record(
                asset=asset,
                race_key=race_key,
                path=path,
                data=data,
                schema=schema,
                rows=len(obj),
                run_id=context.run_id,
                code_version=_code_version(context),
                extra_files=extras,
            )
            meta["data_version_sha256"] = entry.data_version
        # UPathIOManager.handle_output adds `path` and whatever get_metadata returns.
        self._pending_metadata = meta

    def get_metadata(self, context: OutputContext, obj) -> dict:
        meta, self._pending_metadata = getattr(self, "_pending_metadata", {}), {}
        return meta

    def load_from_path(self, context: InputContext, path: UPath) -> pd.DataFrame:
        if not path.exists():
            raise FileNotFoundError(
                f"upstream file {path} is missing: materialize "
                f"{context.asset_key.to_user_string()} for this race first"
            )
        with _tracer.start_as_current_span("storage.read", attributes={"storage.path": str(path)}):
            return self.layout.read_parquet_path(path)

    def make_directory(self, path: UPath) -> None:
        # Object stores have no directories; local folders are made on write.
        return None


def _code_version(context: OutputContext) -> str:
    """The asset's code version (race_asset derives it from the asset's code), else the
    package version for outputs without one."""
    try:
        version = context.asset_spec.code_version
    except Exception:  # noqa: BLE001 - an output that is not an asset's
        version = None
    return version or __version__


class ParquetIOManager(ConfigurableIOManagerFactory):
    """Writes each race's asset to `<root>/<asset>/<race_key>.parquet` under the storage
    resource's root (bound to the same StorageResource instance as the `storage` key)."""

    storage: ResourceDependency[StorageResource]

    def create_io_manager(self, context) -> _LayoutIOManager:
        return _LayoutIOManager(self.storage.layout)
