"""Every private Dagster (and dagster-postgres) name the instance plugins use, in one place.

The plugins subclass dagster-postgres' storages and redo a little of what they do, which needs
names outside Dagster's public API. The plugin modules import them from here, never directly
(tests/instance/test_dagster_internals.py enforces it). A Dagster upgrade that moves or changes
one fails that test by name ("Dagster moved X: update ..."), checking the attributes and
signatures listed in REQUIRED below, instead of failing a storage call in production.

Checked against dagster 1.13.27 / dagster-postgres 0.29.27.
"""

# One import per purpose, each under the comment that says what it is for (hence no isort
# here); all are re-exported to the plugin modules.
# ruff: noqa: F401, I001

FIX_HINT = "update nascar_pipeline/instance/_dagster_internals.py"

try:
    # The `postgres_db` / `postgres_url` config fields of `storage: postgres:`: the resilient
    # storage takes the same config, plus `outage_retry_seconds`.
    from dagster._core.storage.config import pg_config

    # The (module, class, config_yaml) record an instance keeps of each storage: every storage's
    # constructor takes one, and ResilientPostgresStorage builds one for each of its three parts so
    # that an instance ref (run workers, code servers) rebuilds the resilient classes.
    from dagster._serdes import ConfigurableClassData

    # add_run: raised when the run is already stored, which after a dropped connection may be our
    # own first attempt that did commit.
    from dagster._core.errors import DagsterRunAlreadyExists

    # store_event after a dropped connection: the event types whose asset and asset-check indexes
    # PostgresEventLogStorage.store_event writes after its INSERT.
    from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS

    # Reclassifying a run failure: the RUN_FAILURE event's data and its failure reason
    # (STEP_FAILURE becomes RUN_EXCEPTION when storage, not the asset, failed the step).
    from dagster._core.events import JobFailureData, RunFailureReason

    # store_event after a dropped connection: the event log table (is our row there?) and the
    # asset event tags table (was its asset index written?).
    from dagster._core.storage.event_log import SqlEventLogStorageTable
    from dagster._core.storage.event_log.schema import AssetEventTagsTable

    # dagster-postgres' storages, subclassed: besides their public methods the plugin relies on
    # their constructor signature and on the private methods listed in REQUIRED.
    from dagster_postgres.event_log import PostgresEventLogStorage
    from dagster_postgres.run_storage import PostgresRunStorage
    from dagster_postgres.schedule_storage import PostgresScheduleStorage
    from dagster_postgres.storage import DagsterPostgresStorage

    # dagster-postgres' helpers (not exported by the package): the error it raises when it gives
    # up connecting (a connection error to retry), and the URL and token provider it builds from
    # the `postgres_db` config (the resilient storages are built the same way).
    from dagster_postgres.utils import DagsterPostgresException
    from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config
except ImportError as exc:  # an upgrade moved one: say which, and where to fix it
    raise ImportError(f"Dagster moved a name the instance plugins use ({exc}): {FIX_HINT}") from exc

# What the plugins use of each name beyond importing it:
#   params:      parameters it is called with (a class: its constructor)
#   attributes:  attributes read (dotted for nested ones)
#   methods:     method name -> parameters it is called with
#   returns:     keys of the mapping it returns when called without arguments
#   reads:       attributes its properties must read (set by ResilientPostgresStorage itself)
REQUIRED: dict[str, dict] = {
    "pg_config": {"params": (), "returns": ("postgres_db", "postgres_url")},
    "ConfigurableClassData": {
        "params": ("module_name", "class_name", "config_yaml"),
        "attributes": ("config_yaml",),
    },
    "DagsterRunAlreadyExists": {"subclass_of": Exception},
    "ASSET_EVENTS": {"attributes": ("__contains__",)},
    "ASSET_CHECK_EVENTS": {"attributes": ("__contains__",)},
    "JobFailureData": {"attributes": ("failure_reason", "first_step_failure_event", "_replace")},
    "RunFailureReason": {"attributes": ("STEP_FAILURE", "RUN_EXCEPTION")},
    "SqlEventLogStorageTable": {"attributes": ("c.id", "c.run_id", "c.event")},
    "AssetEventTagsTable": {"attributes": ("c.id", "c.event_id")},
    "PostgresRunStorage": {
        "params": ("postgres_url", "should_autocreate_tables", "inst_data", "token_provider"),
        "methods": {
            "add_run": ("dagster_run",),
            "handle_run_event": ("run_id", "event", "update_timestamp"),
            "_get_run_by_id": ("run_id",),
        },
    },
    "PostgresEventLogStorage": {
        "params": ("postgres_url", "should_autocreate_tables", "inst_data", "token_provider"),
        "methods": {
            "store_event": ("event",),
            "_connect": (),
            "index_transaction": (),
            "_store_asset_event_tags": ("conn", "events", "event_ids"),
            "_store_asset_event": ("conn", "event", "event_id"),
            "store_asset_check_event": ("event", "event_id"),
        },
    },
    "PostgresScheduleStorage": {
        "params": ("postgres_url", "should_autocreate_tables", "inst_data", "token_provider"),
    },
    # ResilientPostgresStorage sets the three storages itself instead of calling
    # DagsterPostgresStorage.__init__ (which would build the plain ones) and overrides the
    # *_storage_data properties.
    "DagsterPostgresStorage": {
        "params": ("postgres_url", "should_autocreate_tables", "inst_data", "token_provider"),
        "attributes": ("event_storage_data", "run_storage_data", "schedule_storage_data"),
        "reads": {
            "run_storage": "_run_storage",
            "event_log_storage": "_event_log_storage",
            "schedule_storage": "_schedule_storage",
            "inst_data": "_inst_data",
        },
    },
    "DagsterPostgresException": {"subclass_of": Exception},
    "pg_url_from_config": {"params": ("config_value",)},
    "get_token_provider_from_config": {"params": ("config_value",)},
}
