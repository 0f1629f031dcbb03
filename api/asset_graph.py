"""The race assets the API reports on, and what each is computed from: the Dagster graph of
nascar_pipeline.definitions, declared here and checked against the Definitions by
tests/api/test_asset_graph.py (a change to the graph fails that test until this follows).

Declared rather than derived: loading the Definitions costs each API worker ~1.5 s of start-up
and ~30 MB (Dagster, every asset module, the orchestration layer and its environment) for eight
names and their edges; the read-only API otherwise imports no Dagster.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nascar_pipeline.storage.layout import ManifestEntry

# Every race-partitioned asset, in pipeline order, with the assets it reads (its Dagster deps).
UPSTREAM: dict[str, tuple[str, ...]] = {
    "race_snapshot": (),
    "race_model_fit": ("race_snapshot",),
    "race_scenarios": ("race_model_fit", "race_snapshot"),
    "driver_projections": ("race_scenarios", "race_snapshot"),
    "ownership_projections": ("driver_projections", "race_scenarios", "race_snapshot"),
    "lineup_portfolio": (
        "driver_projections",
        "ownership_projections",
        "race_scenarios",
        "race_snapshot",
    ),
    "contest_simulation": (
        "lineup_portfolio",
        "ownership_projections",
        "race_scenarios",
        "race_snapshot",
    ),
    "exposure_report": (
        "contest_simulation",
        "driver_projections",
        "lineup_portfolio",
        "ownership_projections",
        "race_scenarios",
        "race_snapshot",
    ),
    "race_backtest": (
        "lineup_portfolio",
        "ownership_projections",
        "race_scenarios",
        "race_snapshot",
    ),
}
RACE_ASSETS: tuple[str, ...] = tuple(UPSTREAM)


def asset_statuses(manifest: dict[str, ManifestEntry]) -> list[dict[str, Any]]:
    """Each race asset's status (api.schemas.AssetStatus), then any other asset the manifest
    lists. `stale`: an asset it reads was written after it (its inputs changed since)."""
    now = datetime.now(UTC)
    out: list[dict[str, Any]] = []
    for name in [*RACE_ASSETS, *sorted(set(manifest) - set(RACE_ASSETS))]:
        e = manifest.get(name)
        if e is None:
            out.append({"asset": name, "status": "missing"})
            continue
        ups = [manifest[u].written_at for u in UPSTREAM.get(name, ()) if u in manifest]
        out.append(
            {
                "asset": name,
                "status": "materialized",
                "written_at": e.written_at,
                "age_s": _age(e.written_at, now),
                "stale": any(u > e.written_at for u in ups),
                "data_version": e.data_version,
                "run_id": e.run_id,
                "code_version": e.code_version,
                "rows": e.rows,
            }
        )
    return out


def _age(written_at: str, now: datetime) -> float | None:
    try:
        t = datetime.fromisoformat(written_at)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return round((now - t).total_seconds(), 3)
