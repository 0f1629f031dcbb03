"""`nascar-pipeline races [--season N]`: the races the source knows and what is built for each.

    nascar-pipeline races --season 2026

One line per race: key (what `build --race` takes), date, track, lock time (UTC), then the
race's assets materialized in the instance ($DAGSTER_HOME, default
<NASCAR_PIPELINE_HOME>/dagster) and those of them that are stale, with why: the slate changed
since (new salaries, grid, contest or projections ingested), an upstream asset was re-written
after it, or its code changed (automation/freshness.py: the sensor's and backfill's rules).
Races come from the configured source: Neo4j when NEO4J_URI is set, else the embedded world.
"""

from __future__ import annotations

import sys

# Short names, so a line fits a terminal.
SHORT = {
    "race_snapshot": "snapshot",
    "race_model_fit": "fit",
    "race_scenarios": "scenarios",
    "driver_projections": "projections",
    "ownership_projections": "ownership",
    "lineup_portfolio": "portfolio",
    "contest_simulation": "simulation",
    "exposure_report": "report",
}


def register(sub) -> None:
    p = sub.add_parser(
        "races", help="list the races: key, date, track, lock, what is built and what is stale"
    )
    p.add_argument("--season", type=int, action="append", metavar="YEAR", help="(repeatable)")
    p.add_argument("--why", action="store_true", help="say why each stale asset is stale")
    p.set_defaults(func=run)


def race_rows(races, states, assets: list[str]) -> list[dict]:
    """One dict per race: key, date, track, lock, built, stale (asset -> why)."""
    rows = []
    for r in races.itertuples(index=False):
        info = states.get(str(r.race_key))
        built = [a for a in assets if info and a in info.materialized]
        rows.append(
            {
                "key": str(r.race_key),
                "date": str(r.race_date),
                "track": str(r.track_name),
                "lock": _lock(getattr(r, "lock_time", None)),
                "results": bool(r.has_results),
                "built": built,
                "stale": dict(info.stale) if info else {},
            }
        )
    return rows


def _lock(value) -> str:
    import pandas as pd

    if value is None or pd.isna(value) or not str(value):
        return "-"
    ts = pd.to_datetime(str(value), utc=True, errors="coerce")
    return "-" if pd.isna(ts) else ts.strftime("%Y-%m-%d %H:%M")


def _names(assets) -> str:
    return ",".join(SHORT.get(a, a) for a in assets) or "-"


def format_rows(rows: list[dict], assets: list[str], why: bool = False) -> str:
    width = max([len(r["key"]) for r in rows] + [8])
    track = max([len(r["track"]) for r in rows] + [5])
    lines = [
        f"{'race key':<{width}}  {'date':<10}  {'track':<{track}}  {'lock (UTC)':<16}  "
        "built / stale"
    ]
    for r in rows:
        if len(r["built"]) == len(assets):
            built = "all"
        else:
            built = _names(r["built"])
        stale = f"  stale: {_names(r['stale'])}" if r["stale"] else ""
        done = "  (has results)" if r["results"] else ""
        lines.append(
            f"{r['key']:<{width}}  {r['date']:<10}  {r['track']:<{track}}  {r['lock']:<16}  "
            f"{built}{stale}{done}"
        )
        if why:
            for asset, reason in r["stale"].items():
                lines.append(f"{'':<{width}}    {asset}: {reason}")
    return "\n".join(lines)


def run(args) -> int:
    from nascar_pipeline.commands.backfill import _default_dagster_home, list_source_races

    _default_dagster_home()
    races = list_source_races()
    if args.season:
        known = sorted({int(s) for s in races["season"].dropna()})
        races = races[races["season"].astype("Int64").isin(args.season)]
        if races.empty:
            print(f"no races in season(s) {args.season} (seasons in the source: {known})")
            return 0
    from dagster import DagsterInstance

    from nascar_pipeline.automation.freshness import race_asset_graph, race_asset_states
    from nascar_pipeline.commands.build import RACE_JOB
    from nascar_pipeline.definitions import build_defs
    from nascar_pipeline.settings import get_settings

    defs = build_defs(get_settings())
    parents, versions = race_asset_graph(defs, RACE_JOB)
    assets = [k.path[-1] for k in parents]
    hashes = dict(zip(races["race_key"].astype(str), races["content_hash"].astype(str)))
    with DagsterInstance.get() as instance:
        states = race_asset_states(instance, hashes, parents, versions)
    rows = race_rows(races, states, assets)
    sys.stdout.write(format_rows(rows, assets, args.why) + "\n")
    print(f"{len(rows)} races; instance {get_settings().dagster_home}")
    return 0
