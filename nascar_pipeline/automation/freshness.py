"""Which of a race's assets are materialized, and which of those are stale, by the rules the
sensor and `backfill` use (automation/state.py, automation/backfills.py):

- the race's slate changed: its latest race_snapshot carries another data version than the
  source's current slate hash (what the sensor re-runs a race for): every asset is stale;
- an asset was written before one of its upstream assets was re-written, or an upstream asset
  is stale itself (what `races_complete` tests against race_snapshot, followed down the graph);
- the asset's code changed: its latest materialization carries another `dagster/code_version`
  than the asset's current one (`stale_code`, what `backfill` redoes a race for).

`build` re-uses the model fit and the scenarios when they are fresh; `races` lists both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dagster import AssetKey, DagsterInstance

from nascar_pipeline.automation import state
from nascar_pipeline.automation.backfills import stale_code


@dataclass
class RaceAssets:
    """One race: asset name -> why it is stale ('' when fresh), for the materialized assets."""

    race_key: str
    materialized: dict[str, str] = field(default_factory=dict)

    @property
    def fresh(self) -> list[str]:
        return [a for a, why in self.materialized.items() if not why]

    @property
    def stale(self) -> dict[str, str]:
        return {a: why for a, why in self.materialized.items() if why}

    def is_fresh(self, asset: str) -> bool:
        return self.materialized.get(asset) == ""


def race_asset_states(
    instance: DagsterInstance,
    race_hashes: Mapping[str, str],
    parents: Mapping[AssetKey, Sequence[AssetKey]],
    code_versions: Mapping[AssetKey, str | None],
) -> dict[str, RaceAssets]:
    """race_key -> RaceAssets. `race_hashes`: race_key -> current slate hash (list_races());
    `parents`: each race asset -> its upstream race assets, in topological order (upstream
    first); `code_versions`: asset -> current code version."""
    keys = list(race_hashes)
    if not keys:
        return {}
    assets = list(parents)
    ids = state.latest_storage_ids(instance, assets, keys)
    versions = state.snapshot_versions(instance, keys)
    out: dict[str, RaceAssets] = {}
    for race, slate_hash in race_hashes.items():
        present = [a for a in assets if ids[a].get(race) is not None]
        old_code = (
            stale_code(instance, [race], {a: code_versions.get(a) for a in present}).get(race, [])
            if present
            else []
        )
        slate_changed = versions.get(race) not in (None, slate_hash)
        info = RaceAssets(race)
        stale: set[AssetKey] = set()
        for a in assets:
            mine = ids[a].get(race)
            if mine is None:
                continue
            why = ""
            if slate_changed:
                why = "slate changed since"
            elif a.path[-1] in old_code:
                why = "code changed since"
            else:
                newer = [
                    p.path[-1]
                    for p in parents[a]
                    if p in stale or ids.get(p, {}).get(race, -1) > mine
                ]
                if newer:
                    why = "upstream newer or stale: " + ", ".join(newer)
            if why:
                stale.add(a)
            info.materialized[a.path[-1]] = why
        out[race] = info
    return out


def race_asset_graph(defs, job_name: str) -> tuple[dict[AssetKey, list[AssetKey]], dict]:
    """(asset -> its upstream assets within the job, in topological order; asset -> current
    code version) for the job's assets."""
    job_keys = state.job_asset_keys(defs.get_repository_def(), job_name)
    graph = defs.resolve_asset_graph()
    order: list[AssetKey] = []
    seen: set[AssetKey] = set()

    def visit(key: AssetKey) -> None:
        if key in seen:
            return
        seen.add(key)
        for p in sorted(graph.get(key).parent_keys, key=lambda k: k.to_string()):
            if p in job_keys:
                visit(p)
        order.append(key)

    for key in sorted(job_keys, key=lambda k: k.to_string()):
        visit(key)
    parents = {k: [p for p in graph.get(k).parent_keys if p in job_keys] for k in order}
    versions = {spec.key: spec.code_version for spec in defs.resolve_all_asset_specs()}
    return parents, versions
