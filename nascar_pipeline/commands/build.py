"""`nascar-pipeline build --race KEY [--config steering.yaml] [--entries DKEntries.csv] [--fresh]`:
one command for the race week.

    nascar-pipeline build --race 2026-richmond-cook-out-400
    nascar-pipeline build --race KEY --config steering.yaml --entries DKEntries.csv
    nascar-pipeline build --race KEY --fresh          # re-fit the model whatever is stored

It runs the race's assets through Dagster, in this process, as a race_job run recorded in the
instance the sensors and the UI use ($DAGSTER_HOME, default <NASCAR_PIPELINE_HOME>/dagster, as
`dev`, `demo` and `backfill` set it up), with the tags a sensor run carries (nascar/race,
nascar/slate_hash, dagster/priority; nascar/trigger=build) and the sensor's run config
(NASCAR_RACE_RUN_CONFIG): `nascar-pipeline dev` shows the run and its assets.

- `--config FILE`: the steering (YAML or TOML, assets/portfolio.py's `steering_file`), checked
  before anything runs; it may also set the blend weights of the player's own numbers
  (core/build_file.py: `user_projection_weight` to race_scenarios, `user_ownership_weight` to
  ownership_projections).
- Re-use: when race_snapshot, race_model_fit and race_scenarios are materialized for the race
  and fresh (same slate, same code; automation/freshness.py, the sensor's and backfill's rules),
  only the DFS assets run (driver_projections too when stale): a steering change costs seconds,
  not a model fit. A projection weight other than the one the stored scenarios were moved with
  re-runs race_scenarios and what follows (the fit re-used); the ownership weight only the DFS
  assets. `--fresh` runs every asset.
- `--entries FILE`: DraftKings' entries file (DKEntries.csv from "Edit Entries"): its entries
  per contest go to the portfolio's run config, and after the run the file is filled with the
  lineups (as `export --entries` does).
- Then it prints the exposure report and the upload paths. Progress lines while it runs (each
  stage's start and end), nothing else unless something needs the user; `--verbose` shows
  Dagster's full run log.

Exit 2 with a message for an unknown race key (close keys suggested), a bad steering file and
a failed run (the failed step, its error, and where the run is in the UI).

Tests and benchmarks make the model fit small through the sensor's run config file
(NASCAR_RACE_RUN_CONFIG=fit.yaml with `ops: {race_model_fit: {config: {draws: ...}}}`).
"""

from __future__ import annotations

import difflib
import os
import sys
import threading
import time
from pathlib import Path

from nascar_pipeline.errors import UserInputError

RACE_JOB = "race_job"
# Re-used when fresh: the model fit and what it feeds into every build of the race.
REUSABLE = ("race_snapshot", "race_model_fit", "race_scenarios")
# What a steering change re-runs (exposure_report when the Definitions have it).
DFS_ASSETS = ("ownership_projections", "lineup_portfolio", "contest_simulation", "exposure_report")
DEFAULT_UI = "http://127.0.0.1:3000"


def register(sub) -> None:
    p = sub.add_parser(
        "build",
        help="build a race (model, lineups, contests) through Dagster and print the report",
        description="Run the race's assets through Dagster (recorded in the instance the UI "
        "shows), re-using the model fit and scenarios when only the steering changed.",
    )
    p.add_argument("--race", required=True, metavar="RACE_KEY", help="see `nascar-pipeline races`")
    p.add_argument("--config", metavar="FILE", help="steering file (.yaml, .yml or .toml)")
    p.add_argument(
        "--entries",
        metavar="DKENTRIES_CSV",
        help="DraftKings' entries file: entries per contest in, filled with the lineups after",
    )
    p.add_argument(
        "--fresh", action="store_true", help="run every asset (no re-use of the model fit)"
    )
    p.add_argument("--verbose", action="store_true", help="show Dagster's full run log")
    p.set_defaults(func=run)


# ---- the race --------------------------------------------------------------------------------


def resolve_race(races, race_key: str):
    """The list_races() row of `race_key`; unknown: UserInputError with the closest keys."""
    keys = races["race_key"].astype(str).tolist()
    if race_key in keys:
        return races[races["race_key"].astype(str) == race_key].iloc[0]
    close = difflib.get_close_matches(race_key, keys, n=5, cutoff=0.4)
    if not close:  # the same season or track words, when the spelling is far off
        words = {w for w in race_key.lower().split("-") if len(w) > 2}
        close = [k for k in keys if words & set(k.split("-"))][:5]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UserInputError(
        f"--race {race_key}: no such race in the race source ({len(keys)} races; "
        f"`nascar-pipeline races` lists them){hint}"
    )


def prepare_instance_home() -> Path:
    """DAGSTER_HOME for this process: the user's (its dagster.yaml written when absent, checked
    otherwise), else <NASCAR_PIPELINE_HOME>/dagster, as `dev` uses it."""
    from nascar_pipeline.automation.local_instance import (
        IncompleteInstanceConfig,
        prepare_dagster_home,
    )

    try:
        home = prepare_dagster_home()
    except IncompleteInstanceConfig as exc:
        raise UserInputError(str(exc)) from None
    os.environ["DAGSTER_HOME"] = str(home)
    return home


# ---- the run ---------------------------------------------------------------------------------


def choose_selection(
    states, job_assets: list[str], fresh: bool, rerun: tuple[str, ...] = ()
) -> tuple[list[str], list[str]]:
    """(assets to run, assets re-used) for one race's RaceAssets. `rerun`: reusable assets whose
    settings changed (e.g. race_scenarios for another projection weight): the reusable assets
    before the first of them are still re-used, it and everything after it run."""
    if fresh or not all(states.is_fresh(a) for a in REUSABLE):
        return list(job_assets), []
    changed = [REUSABLE.index(a) for a in rerun if a in REUSABLE]
    reused = list(REUSABLE[: min(changed, default=len(REUSABLE))])
    if not reused:
        return list(job_assets), []
    if len(reused) == len(REUSABLE) and states.is_fresh("driver_projections"):
        reused.append("driver_projections")
    return [a for a in job_assets if a not in reused], reused


def scenario_weight_change(instance, race_key: str, wanted: float | None) -> str:
    """Why race_scenarios must re-run for the projection blend weight `wanted` (None: the
    asset's default), or "" when its latest materialization was moved with that weight or the
    race has no projections of the player's (the weight then changes nothing)."""
    from dagster import AssetKey, AssetRecordsFilter

    from nascar_pipeline.core.user_numbers import DEFAULT_USER_WEIGHT

    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("race_scenarios"), asset_partitions=[race_key]),
        limit=1,
    ).records
    if not records:
        return ""
    meta = records[0].asset_materialization.metadata
    had = meta.get("user_projections")
    if had is None or not had.value:
        return ""
    stored = meta.get("user_blend_weight")
    stored = None if stored is None else float(stored.value)
    weight = DEFAULT_USER_WEIGHT if wanted is None else float(wanted)
    if stored is not None and abs(stored - weight) < 1e-12:
        return ""
    was = "unknown" if stored is None else f"{stored:g}"
    return f"user_projection_weight {weight:g} (the stored scenarios used {was})"


def wanted_projection_weight(base: dict, user_weights) -> float | None:
    """The projection blend weight a build asks: the build file's, else the sensor's run
    config's, else None (the asset's default)."""
    if user_weights is not None and user_weights.user_projection_weight is not None:
        return float(user_weights.user_projection_weight)
    ops = base.get("ops") or {}
    value = ((ops.get("race_scenarios") or {}).get("config") or {}).get("user_projection_weight")
    return None if value is None else float(value)


def build_run_config(
    base: dict,
    selected: list[str],
    steering_file: str | None,
    entries_per_contest: dict | None,
    verbose: bool,
    user_weights=None,
) -> dict:
    """The sensor's run config, narrowed to the selected ops (Dagster refuses config for ops
    a run does not run), with the steering file, the entries per contest and the build file's
    blend weights (`user_weights`, core/build_file.py UserWeights, on the assets that run)."""
    ops = {k: v for k, v in (base.get("ops") or {}).items() if k in selected}
    if user_weights is not None:
        for asset, fields in user_weights.run_config_ops().items():
            if asset in selected:
                op = dict(ops.get(asset) or {})
                ops[asset] = {**op, "config": {**(op.get("config") or {}), **fields}}
    portfolio = dict(ops.get("lineup_portfolio") or {})
    config = dict(portfolio.get("config") or {})
    if steering_file:
        config["steering_file"] = steering_file
    if entries_per_contest:
        config["entries_per_contest"] = entries_per_contest
    if config and "lineup_portfolio" in selected:
        ops["lineup_portfolio"] = {**portfolio, "config": config}
    out = {k: v for k, v in base.items() if k not in ("ops", "loggers")}
    if ops:
        out["ops"] = ops
    # In-process runs print Dagster's run log on this console: every DEBUG event only with
    # --verbose. Otherwise Progress prints the stage lines and the assets' warnings, and the
    # command the failure in a few lines (Dagster's console would add the stack trace).
    level = "DEBUG" if verbose else "CRITICAL"
    out["loggers"] = {"console": {"config": {"log_level": level}}}
    return out


class Progress:
    """Prints each step's start and end from the run's event log while the run goes on."""

    def __init__(
        self,
        instance,
        run_id: str,
        steps=None,
        out=None,
        interval: float = 1.0,
        warnings: bool = True,
    ):
        """`steps`: the step keys worth a line (the assets, not their checks; None: all);
        `warnings`: print the assets' warnings (off when Dagster's console prints them)."""
        # `out` None: the sys.stdout of the moment of each line (a test's capture replaces it)
        self.instance, self.run_id, self._out, self.interval = instance, run_id, out, interval
        self.warnings = warnings
        self.steps = set(steps) if steps is not None else None
        self._stop = threading.Event()
        self._cursor = None
        self._started: dict[str, float] = {}
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @property
    def out(self):
        return self._out or sys.stdout

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)
        self.poll()  # the last events

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - progress is a courtesy; the run decides
                pass

    def poll(self) -> None:
        while True:
            conn = self.instance.get_records_for_run(self.run_id, cursor=self._cursor, limit=500)
            for rec in conn.records:
                self._line(rec.event_log_entry)
            self._cursor = conn.cursor
            if not conn.has_more:
                return

    def _line(self, entry) -> None:
        import logging

        event = entry.dagster_event
        if event is None:
            # The assets' own log lines: those from WARNING up need the player (a portfolio
            # short of the lineups asked, a field adjusted); the rest stay in the run log.
            if self.warnings and entry.level >= logging.WARNING:
                where = f"{entry.step_key}: " if entry.step_key else ""
                print(f"  warning: {where}{entry.user_message}", file=self.out, flush=True)
            return
        step, kind, now = event.step_key, event.event_type_value, entry.timestamp
        if kind not in ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE"):
            return
        if self.steps is not None and step not in self.steps and kind != "STEP_FAILURE":
            return
        if kind == "STEP_START":
            self._started[step] = now
            print(f"  {step:<24} started", file=self.out, flush=True)
            return
        took = now - self._started.get(step, now)
        word = "done" if kind == "STEP_SUCCESS" else "FAILED"
        print(f"  {step:<24} {word} in {took:.0f} s", file=self.out, flush=True)


def failure_message(result, run_id: str, race_key: str) -> str:
    """The failed step and its error, failed blocking checks, and where to see the run."""
    lines = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            err = event.step_failure_data.error
            text = (err.message or "").strip().splitlines()
            while (
                err is not None
                and err.cause is not None
                and "UserInputError" not in (err.cls_name or "")
            ):
                err = err.cause
            if err is not None and err.message:
                text = err.message.strip().splitlines()
            lines.append(f"step {event.step_key} failed: {text[-1] if text else 'no message'}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            check = event.asset_check_evaluation_data
            if not check.passed and str(check.severity.value) == "ERROR":
                lines.append(
                    f"blocking check {check.asset_key.to_user_string()}:{check.check_name} "
                    "failed (the assets after it did not run)"
                )
    if not lines:
        lines.append("the run did not succeed")
    lines.append(
        f"the run: {DEFAULT_UI}/runs/{run_id} (`nascar-pipeline dev` serves the UI; "
        f"race {race_key})"
    )
    return "build failed: " + "\n  ".join(lines)


# ---- after the run ---------------------------------------------------------------------------


def race_contest_ids(race_key: str) -> list[str]:
    """The race's contest ids in the source (through the code location's race_source)."""
    from dagster import build_resources

    from nascar_pipeline import definitions

    with build_resources({"race_source": definitions.race_source_resource()}) as res:
        contests = res.race_source.source().race_inputs(race_key).contests
    return contests["contest_id"].astype(str).tolist()


def entries_per_contest(path: str | None, race_key: str) -> dict[str, int] | None:
    """{the race's contest id: entries} of a DKEntries.csv (commands/export.py reads it,
    core/dk_entries.py maps DraftKings' bare contest ids onto the race's), or None. A contest
    of the file the race does not have is refused, naming it."""
    if not path:
        return None
    from nascar_pipeline.commands.export import entries_per_contest_file

    counts = entries_per_contest_file(path)
    contest_ids = race_contest_ids(race_key)
    if not contest_ids:
        # No contest ingested: the portfolio is one pool, as many lineups as entries.
        print(f"note: no contest ingested for {race_key}: {sum(counts.values())} lineups")
        return None
    from nascar_pipeline.core.dk_entries import contest_counts

    return contest_counts(counts, contest_ids, source=path)


def fill_entries(race_key: str, path: str) -> str:
    """Fill DraftKings' entries file with the race's lineups, as `export --entries` does
    (written beside lineup_portfolio); returns what to tell the user."""
    from nascar_pipeline.commands.export import fill_entries_file

    return fill_entries_file(race_key, path)


def print_report(race_key: str, filled: str | None = None, out=None) -> None:
    """The exposure report (core/exposure_report.py, from the stored Parquet tables) and where
    the results and the upload files are."""
    out = out or sys.stdout
    from nascar_pipeline.storage.layout import layout_from_env

    layout = layout_from_env()
    manifest = layout.read_manifest(race_key)
    root = layout.root_uri.rstrip("/")
    if "exposure_report" in manifest:
        from nascar_pipeline.core.exposure_report import LINEUPS_FILE, REPORT_ASSET, format_report

        drivers = layout.read_asset(REPORT_ASSET, race_key)
        path = layout.extra_path(REPORT_ASSET, race_key, LINEUPS_FILE)
        lineups = layout.read_parquet_path(path) if layout.exists(path) else None
        print(format_report(drivers, lineups), file=out)
    print(f"\nrace {race_key}: results under {root}", file=out)
    for asset, entry in manifest.items():
        print(f"  {asset:<24} {root}/{entry.path}", file=out)
    portfolio = manifest.get("lineup_portfolio")
    if portfolio is not None:
        extras = portfolio.extra_files
        if "draftkings.csv" in extras:
            print(f"DraftKings upload (new lineups): {root}/{extras['draftkings.csv']}", file=out)
        if filled:
            print(f"DraftKings upload (your entries): {filled}", file=out)
        if "fanduel.csv" in extras and fanduel_salaries(layout, race_key):
            print(f"FanDuel upload: {root}/{extras['fanduel.csv']}", file=out)


def fanduel_salaries(layout, race_key: str) -> bool:
    """Whether the race's FanDuel lineups are on real FanDuel salaries (ingested): only then
    is FanDuel worth a word to the player."""
    import io

    import pandas as pd

    from nascar_pipeline.core.export import FANDUEL_LINEUPS

    path = layout.extra_path("lineup_portfolio", race_key, FANDUEL_LINEUPS)
    if not layout.exists(path):
        return False
    fd = pd.read_csv(io.BytesIO(layout.read_bytes(path)))
    return "salary_source" in fd and bool(len(fd)) and (fd["salary_source"] != "stand-in").all()


# ---- the command -----------------------------------------------------------------------------


def run(args) -> int:
    import uuid

    from nascar_pipeline.assets.portfolio import read_build_file
    from nascar_pipeline.commands.backfill import list_source_races

    steering_file = user_weights = None
    if args.config:
        # refused here, before any work, naming the file and the field
        _, user_weights = read_build_file(args.config)
        steering_file = str(Path(args.config).expanduser().resolve())
    if args.entries and not Path(args.entries).is_file():
        raise UserInputError(f"--entries {args.entries}: no such file")
    home = prepare_instance_home()

    from dagster import DagsterInstance

    from nascar_pipeline.assets.partitions import RACES_PARTITIONS_NAME
    from nascar_pipeline.automation.freshness import race_asset_graph, race_asset_states
    from nascar_pipeline.automation.policies import PRIORITY_LIVE, race_run_config, race_run_tags
    from nascar_pipeline.definitions import build_defs
    from nascar_pipeline.settings import get_settings

    race = resolve_race(list_source_races(), args.race)
    race_key, slate_hash = str(race["race_key"]), str(race["content_hash"])
    defs = build_defs(get_settings())
    parents, versions = race_asset_graph(defs, RACE_JOB)
    job_assets = [k.path[-1] for k in parents]
    counts = entries_per_contest(args.entries, race_key)
    with DagsterInstance.get() as instance:
        if race_key not in set(instance.get_dynamic_partitions(RACES_PARTITIONS_NAME)):
            instance.add_dynamic_partitions(RACES_PARTITIONS_NAME, [race_key])
        states = race_asset_states(instance, {race_key: slate_hash}, parents, versions)[race_key]
        base = race_run_config()
        why = scenario_weight_change(
            instance, race_key, wanted_projection_weight(base, user_weights)
        )
        rerun = ("race_scenarios",) if why else ()
        selected, reused = choose_selection(states, job_assets, args.fresh, rerun)
        run_config = build_run_config(
            base, selected, steering_file, counts, args.verbose, user_weights
        )
        tags = race_run_tags(race_key, slate_hash, "build", PRIORITY_LIVE)
        run_id = str(uuid.uuid4())
        print(f"building {race_key} (Dagster home {home}, run {run_id[:8]})")
        if reused:
            print(f"  re-using {', '.join(reused)} (fresh: same slate and code)")
        if why and "race_scenarios" in selected:
            print(f"  re-running race_scenarios: {why}")
        from dagster import AssetKey

        job = defs.resolve_job_def(RACE_JOB)
        started = time.monotonic()
        with Progress(instance, run_id, steps=job_assets, warnings=not args.verbose):
            result = job.execute_in_process(
                run_config=run_config,
                instance=instance,
                partition_key=race_key,
                asset_selection=None if not reused else [AssetKey(a) for a in selected],
                run_id=run_id,
                tags=tags,
                raise_on_error=False,
            )
        if not result.success:
            raise UserInputError(failure_message(result, run_id, race_key))
        print(f"built {race_key} in {time.monotonic() - started:.0f} s")
    filled = None
    if args.entries:
        said = fill_entries(race_key, args.entries)
        print(said)
        filled = said.rsplit(" in ", 1)[-1]
    print_report(race_key, filled)
    return 0
