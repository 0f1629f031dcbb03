"""A steering change's re-build beside a full build, on the real Sonoma 2026 race week (issue 12).

    .venv/bin/python benchmarks/bench_rebuild.py                       # production fit settings
    .venv/bin/python benchmarks/bench_rebuild.py --chains 2 --warmup 150 --draws 150 \
        --scenarios 4000                                               # a small fit (busy machine)
    .venv/bin/python benchmarks/bench_rebuild.py ... --profile         # cProfile the re-build

The race: the history through 2025 (<shared data>/history) plus the Sonoma 2026 race week
(raceweek_2026_sonoma: the real grid), the real DraftKings salaries of the slate
`2026-06-28__sonoma-raceway-2026` (draftkings/slates_2026.csv) and the three real Sonoma contests
(draftkings/contests_2026.csv: their field sizes), joined by commands/_backtest_inputs.py as
`backtest --race-week --dk-slates --dk-contests` joins them, with the race's result removed (a
race not yet run). The contests file has no payout tables, fees or entry limits: each contest
plays core/contest.py default_gpp_payouts for its simulated size at the default $20 fee, with
max_entries 150. The tables go to an embedded world (sources/embedded.py) in a temp folder; the
storage, the fit cache and DAGSTER_HOME are in that folder too (nothing of the user's is read or
written).

One process, through Dagster, the way `nascar-pipeline build` runs (commands/build.py: race_job
in process in the instance, its selection from automation/freshness.py, its run config from
build_run_config):
1. a full build of the race (every asset of race_job), 150 lineups over the three contests
   (entries_per_contest, 50 each by default; --entries 150,150,150 for a full 150 per contest);
2. a steering change (steering file A: an exclude, a lower global cap, a group), then another
   (file B: A plus a lock): each re-builds only what `build` re-builds when only the steering
   changed (the fit and the scenarios re-used). The second re-build is the warm figure (the
   first pays what is loaded once per process: imports, compiled code, caches).
Each asset's time (its step's start to success in the run's event log), the total, the re-build
against the full build, the portfolio per contest (lineups built / asked) and whether every
lineup obeys its contest's steering (the blocking check's result, and the same
contest_problems the check runs, computed here again).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SLATE = "2026-06-28__sonoma-raceway-2026"
RACE_DATE = "2026-06-28"
MAX_ENTRIES = 150
STAND_IN_DK_ID = 90_000_000  # + driver_id: DraftKings ids the slate file lacks
FULL_CHAIN = ("race_snapshot", "race_model_fit", "race_scenarios", "driver_projections")


def shared_data() -> Path:
    from nascar_pipeline.settings import get_settings

    found = get_settings().shared_data
    return Path(found) if found else REPO.parent / "shared" / "data"


def race_week_tables(data: Path):
    """The ontology tables of the Sonoma 2026 race, not yet run: (tables, race_key)."""
    from nascar_pipeline.commands._backtest_inputs import (
        attach_contests,
        attach_slates,
        merge_tables,
    )
    from nascar_pipeline.core.tables import conform
    from nascar_pipeline.ontology.parsers.history import parse_history

    week = data / "raceweek_2026_sonoma"
    tables = parse_history(data / "history" / "races.csv", data / "history" / "results.csv")
    tables = merge_tables(tables, parse_history(week / "races.csv", week / "results.csv"))
    races = tables.races
    [race_key] = races.loc[races["race_date"].astype(str) == RACE_DATE, "race_key"].astype(str)
    # only this race's slate: slates_2026.csv holds others, on dates the history lacks
    import pandas as pd

    slates = pd.read_csv(data / "draftkings" / "slates_2026.csv")
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "slates_2026.csv"
        slates[slates["slate"] == SLATE].to_csv(one, index=False)
        tables, priced = attach_slates(tables, one)
    tables, contested = attach_contests(tables, data / "draftkings" / "contests_2026.csv")
    assert priced == [race_key] and race_key in contested, (priced, contested)
    # the race not yet run: no result, no laps, scheduled
    tables.results = tables.results[tables.results["race_key"] != race_key]
    at = races["race_key"] == race_key
    races.loc[at, "scheduled_laps"] = races.loc[at, "laps"]
    races.loc[at, "laps"] = pd.NA
    races.loc[at, "status"] = "scheduled"
    tables.races = conform("races", races)
    # slates_2026.csv has no DraftKings player ids (the upload needs one per driver): stand-ins
    e = tables.entries
    priced = (e["race_key"] == race_key) & e["salary"].notna()
    e.loc[priced, "dk_id"] = STAND_IN_DK_ID + e.loc[priced, "driver_id"].astype("int64")
    tables.entries = conform("entries", e)
    c = tables.contests
    mine = c["race_key"] == race_key
    c.loc[mine, "max_entries"] = MAX_ENTRIES
    # the winning score and cash line are the race's result too
    c.loc[mine, ["winning_score", "cash_line"]] = pd.NA
    tables.contests = conform("contests", c[mine])
    return tables, race_key


def set_environment(tmp: Path, run_config: dict) -> None:
    """The pipeline's environment in `tmp`: the embedded world, storage, instance, run config."""
    import yaml

    (tmp / "run.yaml").write_text(yaml.safe_dump(run_config))
    for var in ("NEO4J_URI", "NASCAR_K8S_MCMC_CONFIG"):
        os.environ.pop(var, None)
    os.environ.update(
        {
            "NASCAR_PIPELINE_HOME": str(tmp),
            "NASCAR_WORLD_DIR": str(tmp / "world"),
            "STORAGE_ROOT": str(tmp / "storage"),
            "DAGSTER_HOME": str(tmp / "dagster"),
            "NASCAR_RACE_RUN_CONFIG": str(tmp / "run.yaml"),
        }
    )


def step_times(instance, run_id: str) -> dict[str, float]:
    """step key -> seconds from its start to its success, from the run's event log."""
    started, took = {}, {}
    for rec in instance.all_logs(run_id):
        ev = rec.dagster_event
        if ev is None:
            continue
        if ev.event_type_value == "STEP_START":
            started[ev.step_key] = rec.timestamp
        elif ev.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            took[ev.step_key] = rec.timestamp - started.get(ev.step_key, rec.timestamp)
    return took


def fit_note(result) -> str:
    """How race_model_fit got its fit in this run (a cached one makes the full build short)."""
    for e in result.all_events:
        if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key.path[-1] == (
            "race_model_fit"
        ):
            meta = e.event_specific_data.materialization.metadata
            cached = meta.get("reused_cached_fit")
            if cached is not None and cached.value:
                return "race_model_fit: a CACHED fit reused (--keep folder): not a real fit time"
            return "race_model_fit: fitted in this run"
    return "race_model_fit: not run"


def check_results(result) -> dict[str, bool]:
    return {
        f"{e.asset_check_evaluation_data.asset_key.path[-1]}:"
        f"{e.asset_check_evaluation_data.check_name}": bool(e.asset_check_evaluation_data.passed)
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


class Builder:
    """`nascar-pipeline build` in pieces (commands/build.py), so each run can be timed."""

    def __init__(self, race_key: str, entries: dict[str, int]):
        from nascar_pipeline.assets.partitions import RACES_PARTITIONS_NAME
        from nascar_pipeline.automation.freshness import race_asset_graph
        from nascar_pipeline.commands.backfill import list_source_races
        from nascar_pipeline.commands.build import RACE_JOB, prepare_instance_home, resolve_race
        from nascar_pipeline.definitions import build_defs
        from nascar_pipeline.settings import get_settings

        prepare_instance_home()
        from dagster import DagsterInstance

        race = resolve_race(list_source_races(), race_key)
        self.race_key, self.slate_hash = race_key, str(race["content_hash"])
        self.entries = entries
        self.defs = build_defs(get_settings())
        self.parents, self.versions = race_asset_graph(self.defs, RACE_JOB)
        self.job_assets = [k.path[-1] for k in self.parents]
        self.job = self.defs.resolve_job_def(RACE_JOB)
        self.instance = DagsterInstance.get()
        if race_key not in set(self.instance.get_dynamic_partitions(RACES_PARTITIONS_NAME)):
            self.instance.add_dynamic_partitions(RACES_PARTITIONS_NAME, [race_key])

    def build(self, steering_file: str | None, fresh: bool = False, profile=None):
        """(selected, reused, wall seconds, step times, result) of one build."""
        import uuid

        from dagster import AssetKey

        from nascar_pipeline.automation.freshness import race_asset_states
        from nascar_pipeline.automation.policies import (
            PRIORITY_LIVE,
            race_run_config,
            race_run_tags,
        )
        from nascar_pipeline.commands.build import build_run_config, choose_selection

        states = race_asset_states(
            self.instance, {self.race_key: self.slate_hash}, self.parents, self.versions
        )[self.race_key]
        selected, reused = choose_selection(states, self.job_assets, fresh)
        config = build_run_config(race_run_config(), selected, steering_file, self.entries, False)
        run_id = str(uuid.uuid4())
        from nascar_pipeline.commands.build import Progress

        t0, c0 = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        try:
            with Progress(self.instance, run_id, steps=self.job_assets, warnings=False):
                result = self.job.execute_in_process(
                    run_config=config,
                    instance=self.instance,
                    partition_key=self.race_key,
                    asset_selection=None if not reused else [AssetKey(a) for a in selected],
                    run_id=run_id,
                    tags=race_run_tags(self.race_key, self.slate_hash, "build", PRIORITY_LIVE),
                    raise_on_error=False,
                )
        finally:
            if profile is not None:
                profile.disable()
        wall = time.perf_counter() - t0
        # CPU seconds of this process (every thread): on a shared machine, what the run itself
        # cost, whatever the other processes took from the two cores meanwhile
        self.cpu = time.process_time() - c0
        if not result.success:
            from nascar_pipeline.commands.build import failure_message

            raise SystemExit(failure_message(result, run_id, self.race_key))
        return selected, reused, wall, step_times(self.instance, run_id), result


def print_times(title: str, job_assets, selected, reused, wall, times) -> float:
    print(f"\n{title}")
    if reused:
        print(f"  re-used (fresh: same slate and code): {', '.join(reused)}")
    asset_total = 0.0
    for a in job_assets:
        if a in times:
            asset_total += times[a]
            print(f"  {a:<34} {times[a]:7.1f} s")
    checks = sum(v for k, v in times.items() if k not in job_assets)
    print(
        f"  {'(asset checks, ' + str(len(times) - len(selected)) + ' steps)':<34} {checks:7.1f} s"
    )
    print(f"  {'total (run wall clock)':<34} {wall:7.1f} s   (assets {asset_total:.1f} s)")
    return wall


def portfolio_lines(race_key: str) -> tuple[list[str], list[str]]:
    """(a line per contest: lineups built / asked, the steering problems found)."""
    from nascar_pipeline.assets.portfolio import ASSET, CONTESTS_FILE, contest_problems
    from nascar_pipeline.storage.layout import layout_from_env

    layout = layout_from_env()
    port = layout.read_asset(ASSET, race_key)
    builds = json.loads(layout.read_bytes(layout.extra_path(ASSET, race_key, CONTESTS_FILE)))
    lines = [
        f"  {b['contest_id']:<20} {b['name']:<38} field {b['field_size']:>5,}: "
        f"{b['lineups_built']}/{b['lineups_asked']} lineups"
        + ("" if b["shortfall_reason"] == "none" else f" (short: {b['shortfall_reason']})")
        for b in builds
    ]
    problems, _ = contest_problems(port, builds)
    return lines, problems


def payout_lines(race_key: str) -> list[str]:
    """Per contest, contest_simulation's figures of the portfolio on the scenarios the search
    did not see (held out): mean payout per lineup and ROI, and the honest ROI (the model's
    error added): what a faster search must not make worse."""
    from nascar_pipeline.storage.layout import layout_from_env

    sim = layout_from_env().read_asset("contest_simulation", race_key)
    by = sim.groupby("contest_id", sort=True)[["mean_payout", "roi", "honest_roi"]].mean()
    return [
        f"  {cid:<20} held out: mean payout ${r.mean_payout:.2f} per lineup, ROI {r.roi:+.3f}, "
        f"honest ROI {r.honest_roi:+.3f}"
        for cid, r in by.iterrows()
    ]


def report_build(result, race_key: str) -> bool:
    lines, problems = portfolio_lines(race_key)
    checks = check_results(result)
    port_check = checks.get("lineup_portfolio:lineup_portfolio_valid")
    print("  portfolio per contest (built/asked):")
    for line in lines:
        print(line)
    for line in payout_lines(race_key):
        print(line)
    held = not problems and port_check is not False
    print(
        f"  steering held: {'yes' if held else 'NO'} (blocking check lineup_portfolio_valid "
        f"{'passed' if port_check else 'not run' if port_check is None else 'FAILED'}; "
        f"contest_problems here: {len(problems)} problems)"
    )
    for p in problems[:10]:
        print(f"    {p}")
    failed = [k for k, ok in checks.items() if not ok]
    if failed:
        print(f"  checks failed: {', '.join(failed)}")
    return held


def steering_files(tmp: Path, race_key: str) -> tuple[Path, Path, str, str]:
    """Steering A (an exclude, a lower global cap, a group) and B (A plus a lock), from the
    slate: the exclude the most expensive driver, the group 'at most 1' of the next four by
    salary, the lock the cheapest of the ten most expensive outside both."""
    import yaml

    from nascar_pipeline.storage.layout import layout_from_env

    snap = layout_from_env().read_asset("race_snapshot", race_key)
    e = (
        snap[snap["role"] == "entry"]
        .dropna(subset=["salary"])
        .sort_values("salary", ascending=False)
    )
    ids = e["driver_id"].astype(int).tolist()
    names = dict(zip(e["driver_id"].astype(int), e["driver_name"].astype(str)))
    exclude, group, lock = ids[0], ids[1:5], ids[9]
    a = {
        "exclude": [exclude],
        "global_max_exposure": 0.4,
        "groups": [{"name": "top salaries", "drivers": group, "at_most": 1}],
    }
    b = {**a, "lock": [lock]}
    fa, fb = tmp / "steering_a.yaml", tmp / "steering_b.yaml"
    fa.write_text(yaml.safe_dump({"steering": a}))
    fb.write_text(yaml.safe_dump({"steering": b}))
    said_a = (
        f"exclude {names[exclude]}, global max exposure 0.4, at most 1 of "
        f"{', '.join(names[d] for d in group)}"
    )
    return fa, fb, said_a, f"steering A plus lock {names[lock]}"


def print_profile(profile, top: int) -> None:
    import io
    import pstats

    for key, what in (("cumulative", "cumulative"), ("tottime", "own time")):
        buf = io.StringIO()
        pstats.Stats(profile, stream=buf).sort_stats(key).print_stats(top)
        text = buf.getvalue()
        start = text.find("   ncalls")
        print(f"\nprofile of the warm re-build, top {top} by {what}:")
        print(text[start:].rstrip())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chains", type=int, help="race_model_fit chains (default: the asset's, 4)")
    p.add_argument("--warmup", type=int, help="NUTS warmup per chain (default: the asset's, 400)")
    p.add_argument("--draws", type=int, help="draws per chain (default: the asset's, 500)")
    p.add_argument("--svi-steps", type=int, help="ADVI steps (default: the asset's, 1,500)")
    p.add_argument("--scenarios", type=int, help="race_scenarios (default: the asset's, 10,000)")
    p.add_argument(
        "--entries",
        default="50,50,50",
        help="lineups per contest, in contest-id order (default 50,50,50: 150 lineups)",
    )
    p.add_argument("--profile", action="store_true", help="cProfile the warm re-build")
    p.add_argument("--top", type=int, default=40, help="profile lines shown")
    p.add_argument("--keep", metavar="DIR", help="work in DIR (kept) instead of a temp folder")
    args = p.parse_args()

    from nascar_pipeline.cli import quiet_dagster_warnings

    quiet_dagster_warnings()
    data = shared_data()
    if not (data / "raceweek_2026_sonoma" / "results.csv").exists():
        print(f"no shared data at {data} (set NASCAR_SHARED_DATA)", file=sys.stderr)
        return 2
    fit = {
        k: v
        for k, v in {
            "chains": args.chains,
            "warmup": args.warmup,
            "draws": args.draws,
            "svi_steps": args.svi_steps,
        }.items()
        if v is not None
    }
    ops: dict = {}
    if fit:
        ops["race_model_fit"] = {"config": fit}
    if args.scenarios:
        ops["race_scenarios"] = {"config": {"scenarios": args.scenarios}}
    ctx = tempfile.TemporaryDirectory() if not args.keep else None
    tmp = Path(args.keep or ctx.name)
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        set_environment(tmp, {"ops": ops} if ops else {})
        from nascar_pipeline.core.jax_setup import enable_compilation_cache
        from nascar_pipeline.settings import get_settings

        enable_compilation_cache(get_settings().jax_cache_dir)
        from nascar_pipeline.sources.embedded import write_world

        t0 = time.perf_counter()
        tables, race_key = race_week_tables(data)
        write_world(tables, tmp / "world")
        contests = tables.contests.sort_values("contest_id")
        counts = [int(x) for x in args.entries.split(",")]
        if len(counts) != len(contests):
            p.error(f"--entries: {len(contests)} contests, {len(counts)} counts given")
        entries = dict(zip(contests["contest_id"].astype(str), counts))
        print(
            f"race {race_key}: {len(tables.entries[tables.entries.race_key == race_key])} "
            f"drivers on the real DraftKings salaries of {SLATE}, history "
            f"{len(tables.results):,} starts to 2025, result removed "
            f"(world written in {time.perf_counter() - t0:.1f} s); DraftKings ids: stand-ins "
            f"({STAND_IN_DK_ID:,} + driver id: the slate file has none)"
        )
        print(
            f"contests (contests_2026.csv; no payout tables there: core/contest.py "
            f"default_gpp_payouts for each simulated size, $20 fee, max_entries {MAX_ENTRIES}):"
        )
        for (_, c), n in zip(contests.iterrows(), counts):
            print(f"  {c['contest_id']:<20} field {int(c['field_size']):>5,}: {n} lineups")
        print(
            "fit: "
            + (", ".join(f"{k} {v}" for k, v in fit.items()) if fit else "the asset's defaults")
            + f"; scenarios: {args.scenarios or 'the asset default'}"
            + f"; cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start"
        )

        builder = Builder(race_key, entries)
        sel, reused, full_wall, times, result = builder.build(None, fresh=True)
        print_times(
            "full build (every asset of race_job)",
            builder.job_assets,
            sel,
            reused,
            full_wall,
            times,
        )
        full_cpu = builder.cpu
        print(
            f"  CPU time of the run: {full_cpu:.1f} s;  {fit_note(result)} (load average "
            f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} over 1 / 5 / 15 min)"
        )
        ok = report_build(result, race_key)

        fa, fb, said_a, said_b = steering_files(tmp, race_key)
        rebuilds, cpus = [], []
        import cProfile

        for label, f, said in (
            ("re-build 1 (cold)", fa, said_a),
            ("re-build 2 (warm)", fb, said_b),
        ):
            prof = cProfile.Profile() if args.profile and "warm" in label else None
            sel, reused, wall, times, result = builder.build(str(f), profile=prof)
            if set(FULL_CHAIN[:3]) & set(sel):
                print(f"  NOTE: {label} re-ran {sorted(set(FULL_CHAIN[:3]) & set(sel))}")
            print_times(
                f"{label} after a steering change: {said}",
                builder.job_assets,
                sel,
                reused,
                wall,
                times,
            )
            ok = report_build(result, race_key) and ok
            print(
                f"  CPU time of the run: {builder.cpu:.1f} s (load average "
                f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} over 1 / 5 / 15 min)"
            )
            rebuilds.append(wall)
            cpus.append(builder.cpu)
            if prof is not None:
                print_profile(prof, args.top)
        warm = rebuilds[-1]
        print(
            f"\nfull build {full_wall:.1f} s; re-build after a steering change {warm:.1f} s warm "
            f"({rebuilds[0]:.1f} s cold): {warm / full_wall:.1%} of the full build; CPU time "
            f"{full_cpu:.1f} s full, {cpus[-1]:.1f} s re-build (warm); "
            f"target <= 20 s: {'met' if warm <= 20 else 'NOT met'} "
            f"(load average {os.getloadavg()[0]:.1f} at the end, {os.cpu_count()} cores)"
        )
        builder.instance.dispose()
        return 0 if ok else 1
    finally:
        if ctx is not None:
            ctx.cleanup()


if __name__ == "__main__":
    sys.exit(main())
