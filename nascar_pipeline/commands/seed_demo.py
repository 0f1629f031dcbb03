"""`nascar-pipeline seed-demo`: write the embedded demo world (a synthetic NASCAR world) so the
whole pipeline runs with no Neo4j, S3 or Postgres.

    nascar-pipeline seed-demo [--seed N] [--seasons K] [--out DIR] [--compare-history DIR]
    nascar-pipeline seed-demo --from-history DIR [--out DIR]

`--compare-history DIR` also prints the world's statistics beside those of the real history in
DIR (races.csv and results.csv, e.g. ../shared/data/history).
`--from-history DIR` writes the real history in DIR (races.csv, results.csv, and loopstats.csv
where present) as the embedded world instead of a synthetic one: the model, sensors and
backfills then run on real races with loop data and no Neo4j (sources/history_world.py). The
files have no salaries: backfill such races with
`--select race_snapshot,race_model_fit,race_scenarios,driver_projections`.
"""

from __future__ import annotations

from pathlib import Path

from nascar_pipeline.commands._argtypes import nonneg_int, positive_int
from nascar_pipeline.errors import UserInputError


def register(sub) -> None:
    p = sub.add_parser("seed-demo", help="write the embedded demo world (synthetic NASCAR races)")
    p.add_argument("--seed", type=nonneg_int, default=None, help="random seed (default 7)")
    p.add_argument(
        "--seasons",
        type=positive_int,
        default=None,
        help="completed seasons of 36 races before the upcoming race (default 3)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder to write (default: NASCAR_WORLD_DIR or <home>/world)",
    )
    p.add_argument(
        "--from-history",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the real history in DIR (races.csv, results.csv, loopstats.csv) as the "
        "world instead of a synthetic one",
    )
    p.add_argument(
        "--compare-history",
        type=Path,
        default=None,
        metavar="DIR",
        help="print the world's statistics beside the real history in DIR",
    )
    p.set_defaults(func=run)


def read_history(folder: str | Path):
    """Real history CSVs (races.csv, results.csv) as (races, results, entries) frames keyed
    by a string race_key, in the shape `world_statistics` takes."""
    import pandas as pd

    folder = Path(folder)
    paths = [folder / "races.csv", folder / "results.csv"]
    for path in paths:
        if not path.is_file():
            raise UserInputError(f"file {path}: not found (expected the real history CSVs)")
    races = pd.read_csv(paths[0])
    results = pd.read_csv(paths[1])
    races["race_key"] = races["race_id"].astype(str)
    results["race_key"] = results["race_id"].astype(str)
    entries = results[["race_key", "driver_id", "start_position"]]
    return races, results.drop(columns=["start_position"]), entries


def comparison_table(world, history_dir: str | Path) -> str:
    from nascar_pipeline.sources.demo_world import world_statistics

    w = world_statistics(world.races, world.results, world.entries)
    r = world_statistics(*read_history(history_dir))
    lines = [f"{'statistic':32s} {'world':>10s} {'real':>10s}"]
    for k in w:
        lines.append(f"{k:32s} {w[k]:10.3f} {r[k]:10.3f}")
    return "\n".join(lines)


def run(args) -> int:
    from nascar_pipeline.settings import get_settings
    from nascar_pipeline.sources.demo_world import generate_world
    from nascar_pipeline.sources.embedded import write_world

    out = Path(args.out) if args.out is not None else get_settings().world_dir
    if args.from_history is not None:
        if args.compare_history is not None or args.seed is not None or args.seasons is not None:
            raise UserInputError(
                "--from-history writes the real history as it is: --seed, --seasons and "
                "--compare-history are for the synthetic world"
            )
        return _from_history(args.from_history, out)
    seed = 7 if args.seed is None else args.seed
    world = generate_world(seed=seed, seasons=args.seasons or 3, upcoming=True)
    try:
        folder = write_world(world, out)
    except OSError as exc:
        raise UserInputError(f"folder {out}: cannot write the demo world ({exc})") from exc
    final = world.races[world.races["status"] == "final"]
    upcoming = world.races[world.races["status"] == "scheduled"]
    print(f"demo world (seed {seed}) written to {folder.resolve()}")
    print(
        f"  races: {len(final)} run ({final['season'].min()}-{final['season'].max()}), "
        f"{len(upcoming)} upcoming; starts: {len(world.results)}; "
        f"drivers: {len(world.drivers)}"
    )
    for _, r in upcoming.iterrows():
        n = int((world.entries["race_key"] == r["race_key"]).sum())
        print(
            f"  upcoming race: {r['race_key']} ({r['race_date']}, lock {r['lock_time']}, "
            f"{n} entries, {int((world.contests['race_key'] == r['race_key']).sum())} contest)"
        )
    if args.compare_history is not None:
        print(comparison_table(world, args.compare_history))
    return 0


def _from_history(folder: Path, out: Path) -> int:
    from nascar_pipeline.automation.schedules import UNPRICED_ASSETS
    from nascar_pipeline.sources.embedded import write_world
    from nascar_pipeline.sources.history_world import world_from_history

    print(f"reading the history in {folder} ...", flush=True)
    world = world_from_history(folder)
    try:
        written = write_world(world, out)
    except OSError as exc:
        raise UserInputError(f"folder {out}: cannot write the world ({exc})") from exc
    races, loop = world.races, world.loop_stats
    print(f"world from the history in {folder} written to {written.resolve()}")
    print(
        f"  races: {len(races)} ({races['season'].min()}-{races['season'].max()}); starts: "
        f"{len(world.results)}; drivers: {len(world.drivers)}; no salaries or contests"
    )
    by_series = ", ".join(f"{k} {v}" for k, v in loop["series"].value_counts().items())
    print(
        f"  loop data: {len(loop)} starts ({by_series or 'none'}); "
        f"{int(loop['race_key'].notna().sum())} keyed to the history's Cup races"
    )
    print(
        "  it has no upcoming race: `nascar-pipeline demo` needs --race KEY (or --reseed for "
        f"the synthetic world); backfill its races with --select {','.join(UNPRICED_ASSETS)}"
    )
    return 0
