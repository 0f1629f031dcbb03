"""lineup_portfolio, per race partition, and its blocking check.

The DraftKings portfolio (core/lineup_search.py) under the player's steering (core/steering.py):
Metropolis-Hastings (parallel tempering) over lineups that keep every per-lineup rule, toward the
build's taste (expected payout against a field drawn from the projected ownership, blended with
projection), plus the exact optimizer's best lineups and its steered portfolio; then a greedy
marginal-gain portfolio under the steering's exposures and max_shared, chosen on scenarios the
sampler did not see. One row per lineup (wide: d1..d6).

Contests (core/contests.py). One such portfolio per DraftKings contest of the race, its own
field size and payout table driving its objective: n_lineups lineups capped by the contest's
max_entries (a single-entry contest gets one, said in the run log), or the run config's
entries_per_contest {contest_id: count} (a count above max_entries is refused, naming the contest,
before any heavy work). A race without a contest plays the stated default GPP (contest_id
`default`) exactly as before. The frame's `contest_id` (string) says whose each lineup is;
lineup_id is unique within the race. Steering holds per contest: exposures are shares of that
contest's lineups; a contest of at most 3 lineups fewer than n_lineups has no global cap.

Steering. The run config's steering fields carry core.steering.Steering's names (n_lineups, lock,
exclude, exposures, global_max_exposure, max_shared, salary_floor, groups, taste); `steering_file`
names a YAML or TOML file of the same fields (at its top level or under `steering:`; the file may
also hold the blend weights of the player's own numbers, core/build_file.py, which `build` hands
to race_scenarios and ownership_projections and this asset ignores). A field the
file sets replaces the default; a run-config field set away from its default replaces the file's.
global_max_exposure left unset is 0.6, or 1.0 for single-entry builds of at most 3 lineups
(core/lineup_search.py: caps are never raised, so 0.6 would allow one lineup per driver there).
The steering is checked against the slate before the field and the MCMC (an infeasible one fails
the run naming the conflicting rules), written beside the asset as `<race>.steering.json`, and the
blocking check proves every lineup obeys its contest's steering (`<race>.contests.json`: per
contest its fields, lineups asked and built, shortfall reason, lineup_ids and steering).

Beside it (core/export.py names them): the DraftKings bulk-upload CSV
`<root>/lineup_portfolio/<race>.draftkings.csv` (every lineup of every contest: DraftKings' upload
has roster columns only; the entries file, `export --entries`, puts each in its contest), and FanDuel lineups (core/fanduel.py: 5
drivers, FanDuel's $50,000 cap, FanDuel points; exact optimizer) as `<race>.fanduel.csv`
(FanDuel's upload: player ids) and `<race>.fanduel_lineups.csv` (readable: ids, names,
salaries). They use the race's FanDuel salaries and ids when `ingest fd-salaries` loaded them,
else a stand-in (DraftKings x 6/5, names in the cells: not uploadable; the export command says
so).
"""

import io
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    Config,
    MetadataValue,
    Output,
)
from pydantic import Field, ValidationError

from nascar_pipeline.assets.field_config import FieldConfig
from nascar_pipeline.assets.plots import image_markdown, new_figure
from nascar_pipeline.assets.race_asset import race_asset, race_check
from nascar_pipeline.assets.stage_timer import StageTimer
from nascar_pipeline.core import rules
from nascar_pipeline.core.export import DRAFTKINGS_UPLOAD, FANDUEL_LINEUPS, FANDUEL_UPLOAD
from nascar_pipeline.core.jax_setup import usable_cores
from nascar_pipeline.core.lineup_search import OBJECTIVE_ERROR_SD, OBJECTIVE_SHRINK
from nascar_pipeline.errors import UserInputError
from nascar_pipeline.resources.storage import StorageResource

ASSET = "lineup_portfolio"
SITE = rules.DRAFTKINGS
STEERING_FILE = "steering.json"  # beside the asset: the steering the build kept
# beside the asset: per contest its allocation, lineup ids and the steering its lineups obey
CONTESTS_FILE = "contests.json"


# Dagster's config schema takes Config classes, not plain pydantic models: these mirror
# core.steering.DriverExposure and DriverGroup field for field (Steering validates them).
class DriverExposureConfig(Config):
    driver: int = Field(description="NASCAR driver id")
    min: float = Field(0.0, ge=0.0, le=1.0, description="least share of the lineups")
    max: float | None = Field(
        None, ge=0.0, le=1.0, description="most share of the lineups (None: global)"
    )


class DriverGroupConfig(Config):
    name: str = Field(description="shown in messages, e.g. 'Hendrick'")
    drivers: list[int] = Field(description="NASCAR driver ids")
    at_least: int | None = Field(None, ge=0, description="fewest of them in a lineup")
    at_most: int | None = Field(None, ge=0, description="most of them in a lineup")


class PortfolioConfig(FieldConfig):
    # the steering (core.steering.Steering's fields and names)
    n_lineups: int = Field(20, ge=1, le=150, description="lineups to build")
    lock: list[int] = Field(default_factory=list, description="driver ids in every lineup")
    exclude: list[int] = Field(default_factory=list, description="driver ids in no lineup")
    exposures: list[DriverExposureConfig] = Field(
        default_factory=list, description="per-driver min / max share of the lineups"
    )
    global_max_exposure: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="max share of the lineups for any driver; unset: 0.6, or 1.0 for "
        "single-entry builds of at most 3 lineups",
    )
    max_shared: int | None = Field(4, ge=0, description="most drivers two lineups share")
    salary_floor: int = Field(45_000, ge=0, description="least salary our lineups use")
    groups: list[DriverGroupConfig] = Field(
        default_factory=list, description="at least / at most k of these drivers per lineup"
    )
    taste: float = Field(
        1.0, ge=0.0, le=1.0, description="0: pure projection .. 1: full leverage vs ownership"
    )
    steering_file: str | None = Field(
        None, description="YAML or TOML file of the steering fields (the run config overrides)"
    )
    # the contests (core/contests.py)
    entries_per_contest: dict[str, int] | None = Field(
        None,
        description="lineups per contest id (e.g. a DKEntries.csv's counts); unset: n_lineups "
        "per DraftKings contest, capped by its max_entries",
    )
    # the search
    field_size: int | None = Field(
        None,
        description="field lineups of every contest's search (at most the contest's field "
        "size); default: the contest's field size (or 10,000), at most 20,000",
    )
    objective: str = Field("ev", description="'ev' (expected payout) or 'top1' (top-1 % chance)")
    objective_scenarios: int = Field(1000, ge=50, description="scenarios seen by the sampler")
    objective_error_sd: float = Field(
        OBJECTIVE_ERROR_SD,
        ge=0.0,
        description="DK points of noise per driver and scenario in the search's objective: the "
        "model's own error, so the portfolio does not lean into it (core/lineup_search.py)",
    )
    objective_shrink: float = Field(
        OBJECTIVE_SHRINK,
        ge=0.0,
        le=1.0,
        description="share of each driver's mean moved toward his salary's in the objective",
    )
    selection_scenarios: int = Field(2000, ge=50, description="scenarios for the greedy choice")
    prize_cap_fees: float = Field(
        100.0,
        gt=0,
        description="prize cap of the sampler's and the "
        "greedy's objective, in entry fees (tames the top prizes' noise)",
    )
    mh_steps: int = Field(600, ge=10)
    mh_chains: int = Field(6, ge=1)
    mh_temps: int = Field(4, ge=1)
    exact_candidates: int = Field(100, ge=0, description="best lineups by mean points added")
    fanduel_lineups: int = Field(
        20,
        ge=0,
        le=150,
        description="FanDuel lineups for the FanDuel upload file beside the asset (0: none)",
    )
    seed: int = 0


def read_steering_file(path: str):
    """The Steering in a YAML/TOML build file; UserInputError naming the file on any problem."""
    return read_build_file(path)[0]


def read_build_file(path: str):
    """(Steering, UserWeights) of a YAML/TOML build file (core/build_file.py: the steering and
    the blend weights of the player's own numbers); UserInputError naming the file and the
    field on any problem."""
    from nascar_pipeline.core.build_file import parse_build_file

    p = Path(path).expanduser()
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in ("yaml", "yml", "toml"):
        raise UserInputError(f"steering file {p}: use a .yaml, .yml or .toml file")
    try:
        text = p.read_text()
    except OSError as exc:
        raise UserInputError(f"steering file {p}: {exc.strerror or exc}") from None
    try:
        return parse_build_file(text, fmt)
    except ValidationError as exc:
        raise UserInputError(f"steering file {p}: {_validation_words(exc)}") from None
    except Exception as exc:  # YAML / TOML syntax
        raise UserInputError(f"steering file {p}: {exc}") from None


def _validation_words(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(x) for x in e['loc']) or 'steering'}: {e['msg']}" for e in exc.errors()
    )


def config_steering(config: PortfolioConfig):
    """The build's Steering: defaults, the steering file, the run config (core/lineup_search.py
    build_steering)."""
    return _config_steering(config)[0]


def _config_steering(config: PortfolioConfig):
    """(the build's Steering, whether a global max exposure was asked for: by the run config or
    the steering file)."""
    from nascar_pipeline.core.lineup_search import build_steering

    file_steering = read_steering_file(config.steering_file) if config.steering_file else None
    try:
        steering = build_steering(
            PortfolioConfig().model_dump(), config.model_dump(), file_steering
        )
    except ValidationError as exc:
        raise UserInputError(f"{ASSET} steering: {_validation_words(exc)}") from None
    asked = config.global_max_exposure is not None or (
        file_steering is not None and "global_max_exposure" in file_steering.model_fields_set
    )
    return steering, asked


def _trace_plot(sampler, objective: str) -> MetadataValue:
    fig, ax = new_figure((6, 2.6))
    x = np.arange(1, len(sampler.trace_mean) + 1) * 10
    ax.plot(x, sampler.trace_mean, label="cold chains (mean)")
    ax.plot(x, sampler.trace_best, label="best so far")
    ax.set_xlabel("MH step")
    ax.set_ylabel("objective" + (" (payout / fee)" if objective == "ev" else " (P top 1 %)"))
    ax.legend(fontsize=7)
    return image_markdown(fig, "trace")


PREVIEW_COLUMNS = [
    "lineup_id",
    *[f"d{j}_name" for j in range(1, rules.DRAFTKINGS.roster_size + 1)],
    "salary",
    "projection",
    "standalone_ev",
    "marginal_gain",
]


# Contests searched side by side at most (threads): the two cores a build is sized for; more
# only on a machine with more, and never more than 4 (each search holds a few hundred MB). The
# cores this process may use (affinity, cgroup quota), not the machine's: a container limited to
# 2 CPUs on a 64-core host gets 2.
MAX_CONTEST_WORKERS = 4


# A contest search's run-log lines (core/lineup_search.py) each close a stage: the line's
# prefix -> the stage's name in contest_stage_seconds (other lines close none).
SEARCH_STAGES = {
    "field": "field",
    "exact optimizer": "exact optimizer",
    "MCMC": "MCMC candidates",
    "candidates": "candidate pool",
    "chosen": "greedy + exact selection",
}


def contest_workers(n_contests: int) -> int:
    return max(1, min(n_contests, usable_cores(), MAX_CONTEST_WORKERS))


@dataclass
class _ContestBuild:
    """One contest's portfolio search (for the frame, the log and the metadata)."""

    alloc: object  # core.contests.Allocation
    steering: object  # its core.steering.Steering
    field_size: int = 0
    found: object = None  # core.lineup_search.PortfolioSearch


def _plan_contests(config, steering, global_asked, race_snapshot, slate, log):
    """Every contest's allocation and steering, each checked against the slate: refused here,
    before any field or MCMC (an entries_per_contest above a contest's max_entries, steering
    that one contest's lineup count cannot meet)."""
    from nascar_pipeline.core.contests import (
        allocate_entries,
        contest_steering,
        contests_from_snapshot,
    )
    from nascar_pipeline.core.steering import InfeasibleSteering, check_feasible

    contests = contests_from_snapshot(race_snapshot)
    allocs, notes = allocate_entries(contests, steering.n_lineups, config.entries_per_contest)
    for note in notes:
        log(note)
    plans = []
    for a in allocs:
        s = contest_steering(steering, a.n_lineups, global_asked)
        try:
            arrays = check_feasible(s, slate, SITE)
        except InfeasibleSteering as exc:
            if len(allocs) == 1 and a.n_lineups == steering.n_lineups:
                raise
            raise InfeasibleSteering(
                [f"contest {a.contest.label} ({a.n_lineups} lineups): {c}" for c in exc.conflicts]
            ) from None
        log(
            f"contest {a.contest.label}: {a.n_lineups} lineups ({a.why})"
            + (
                f", global max exposure {s.global_max_exposure:g}"
                if s.global_max_exposure != steering.global_max_exposure
                else ""
            )
        )
        plans.append((_ContestBuild(alloc=a, steering=s), arrays))
    return plans


@race_asset(group="dfs", kinds={"numpy", "parquet", "csv"})
def lineup_portfolio(
    context: AssetExecutionContext,
    config: PortfolioConfig,
    storage: StorageResource,
    race_snapshot: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    driver_projections: pd.DataFrame,
    ownership_projections: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """A DraftKings lineup portfolio per DraftKings contest of the race (core/contests.py: its
    field size and payout table, its lineups the steering's n_lineups capped by its
    max_entries, or the run config's entries_per_contest) under the player's steering: MCMC
    (parallel-tempering Metropolis-Hastings) toward the build's taste against an
    ownership-drawn field, exact optimizer lineups, greedy marginal-gain selection under the
    steering's exposures and max_shared. One row per lineup with its contest_id; the
    DraftKings bulk-upload CSV (every lineup), the steering and the contests beside it."""
    from nascar_pipeline.core.contests import contest_record, contest_rng
    from nascar_pipeline.core.export import portfolio_upload_files
    from nascar_pipeline.core.fanduel import fanduel_portfolio
    from nascar_pipeline.core.highs_banner import silence_banner
    from nascar_pipeline.core.lineup_search import (
        FIELD_SEARCH_MAX,
        OBJECTIVES,
        SINGLE_ENTRY_MAX_LINEUPS,
        default_global_max_exposure,
        search_portfolio,
    )
    from nascar_pipeline.core.slate import slate_arrays, slate_ownership

    if config.objective not in OBJECTIVES:
        raise UserInputError(f"run config objective {config.objective!r}: use 'ev' or 'top1'")
    silence_banner()  # the steering checks' and optimizers' HiGHS: no banner on the console
    timer = StageTimer()
    steering, global_asked = _config_steering(config)
    slate, points = slate_arrays(race_snapshot, race_scenarios, driver_projections)

    # Info lines are gathered and logged a stage at a time (one run-log event each: every
    # event is a write to the instance's event log, tens of ms on a busy disk); the contests'
    # warnings once each after the searches (the same warning of several contests as one).
    said: list[str] = []

    def info(line: str) -> None:
        said.append(line)

    def flush() -> None:
        if said:
            context.log.info("\n".join(said))
            said.clear()

    # refused here, before the fields and the MCMC: entries above a contest's limit, steering
    # that cannot be met (InfeasibleSteering names each conflict and, with several, the contest)
    try:
        plans = _plan_contests(config, steering, global_asked, race_snapshot, slate, info)
    except BaseException:
        flush()
        raise
    info(
        f"steering: {steering.n_lineups} lineups, global max exposure "
        f"{steering.global_max_exposure:g}, {len(steering.lock)} locked, "
        f"{len(steering.exclude)} excluded, {len(steering.exposures)} exposure limits, "
        f"{len(steering.groups)} groups, salary floor {steering.salary_floor:,}, "
        f"taste {steering.taste:g}"
        + (f" (file {config.steering_file})" if config.steering_file else "")
    )
    flush()  # the contests' plans and the steering: one run-log event
    own = slate_ownership(slate, ownership_projections)
    timer.lap("plan + steering checks")
    frames, next_id = [], 0
    contest_stages: dict = {}  # contest_id -> its search's stage seconds
    shared: dict = {}  # the exact optimizer's lineups, solved once for contests sharing them

    def search(k: int, build: _ContestBuild, arrays):
        """One contest's search, in a worker thread: (field size, PortfolioSearch, its log
        lines as (line, warning)); the run log is written by the asset's thread only."""
        c, n = build.alloc.contest, build.alloc.n_lineups
        lines: list[tuple[str, bool]] = []
        stages = StageTimer()

        def log(line: str, warning: bool = False) -> None:
            lines.append((line, warning))
            stage = SEARCH_STAGES.get(line.split(":", 1)[0])
            if stage is not None:
                stages.lap(stage)

        F = c.simulated_field_size(config.field_size, FIELD_SEARCH_MAX)
        table = c.payout_table(F + n)
        log(f"objective: {c.payout_note(F + n)}, entry fee ${table.entry_fee:g}")
        found = search_portfolio(
            slate,
            points,
            own,
            table,
            F,
            config,
            contest_rng(config.seed, k),
            arrays,
            log=log,
            shared=shared,
        )
        stages.lap("lineup frame")
        return F, found, lines, stages.seconds()

    # The contests' searches run side by side (NumPy lets go of the GIL in the heavy loops);
    # each has its own generator and objects, so the portfolios do not depend on the order.
    # A warning every contest's search gives alike (the field's, drawn from one ownership) is
    # one run-log event naming the contests: each event is a write to the instance's event log
    warned: dict[str, list[str]] = {}
    pool = ThreadPoolExecutor(max_workers=contest_workers(len(plans)))
    try:
        futures = [pool.submit(search, k, b, arrays) for k, (b, arrays) in enumerate(plans)]
        for (build, _), future in zip(plans, futures):
            F, found, lines, seconds = future.result()
            cid = build.alloc.contest.contest_id
            tag = f"[{cid}] "
            contest_stages[cid] = seconds
            lines.append(
                ("stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items()), False)
            )
            for line, warning in lines:
                if warning:
                    warned.setdefault(line, []).append(cid)
                else:
                    info(tag + line)
            if found.shortfall_reason:
                warned.setdefault(f"portfolio short: {found.shortfall_reason}", []).append(cid)
            build.field_size, build.found = F, found
            df = found.lineups
            df["lineup_id"] = np.arange(next_id, next_id + len(df), dtype=np.int64)
            df.insert(
                1, "contest_id", pd.array([build.alloc.contest.contest_id] * len(df), "string")
            )
            next_id += len(df)
            frames.append(df)
    except BaseException:
        # a contest's search failed (or the run was stopped): say so now, not after the other
        # contests' searches (a `with` block would wait for them); those not started are dropped
        pool.shutdown(wait=False, cancel_futures=True)
        flush()
        for line, cids in warned.items():
            context.log.warning(f"[{', '.join(cids)}] {line}")
        raise
    pool.shutdown()
    flush()  # the contests' stages, one event
    for line, cids in warned.items():
        context.log.warning(f"[{', '.join(cids)}] {line}")
    timer.lap("contest searches")
    df = pd.concat(frames, ignore_index=True)
    first = plans[0][0].found
    mh = first.sampler

    fd_lineups, fd_notes = None, []
    if config.fanduel_lineups:
        # the FanDuel build has its own count: the single-entry default is the DraftKings build's
        single_default = (
            config.global_max_exposure is None
            and steering.n_lineups <= SINGLE_ENTRY_MAX_LINEUPS
            and steering.global_max_exposure == default_global_max_exposure(steering.n_lineups)
        )
        fd_max = (
            default_global_max_exposure(config.fanduel_lineups)
            if single_default
            else steering.global_max_exposure
        )
        fd_lineups, fd_notes = fanduel_portfolio(
            race_snapshot, race_scenarios, config.fanduel_lineups, max_exposure=fd_max
        )
        info(f"FanDuel: {len(fd_lineups)} lineups")
        timer.lap("FanDuel")
    # DraftKings' bulk upload has roster columns only (no contest column): every lineup, by
    # contest in the frame's order; which lineups go to which contest is in CONTESTS_FILE
    files, warnings = portfolio_upload_files(df, fd_lineups)
    files[STEERING_FILE] = steering.model_dump_json(indent=2).encode()
    contest_rows = [_contest_row(b, contest_record) for b, _ in plans]
    files[CONTESTS_FILE] = json.dumps(contest_rows, indent=2).encode()
    race_key = context.partition_key
    storage.write_beside(ASSET, race_key, files)
    timer.lap("upload files")
    info(f"lineup_portfolio stages: {timer.line()}")
    flush()

    fd_source = (
        str(fd_lineups["salary_source"].iloc[0])
        if fd_lineups is not None and len(fd_lineups)
        else "none"
    )
    shortfalls = [
        f"{r['contest_id']}: {r['shortfall_reason']}"
        for r in contest_rows
        if r["shortfall_reason"] != "none"
    ]
    field_warnings = list(
        dict.fromkeys(w for b, _ in plans for w in b.found.field_warnings)
    )  # once each, in order
    first_table = first.payout_table
    return Output(
        df,
        metadata={
            "lineups": len(df),
            "lineups_requested": sum(b.alloc.n_lineups for b, _ in plans),
            "shortfall_reason": (
                "none"
                if not shortfalls
                else (
                    plans[0][0].found.shortfall_reason if len(plans) == 1 else "; ".join(shortfalls)
                )
            ),
            "contests": MetadataValue.json(
                [{k: v for k, v in r.items() if k != "steering"} for r in contest_rows]
            ),
            "contests_table": MetadataValue.md(_contests_markdown(contest_rows)),
            "contests_json": f"{ASSET}/{race_key}.{CONTESTS_FILE}",
            "steering": MetadataValue.json(steering.model_dump()),
            "steering_json": f"{ASSET}/{race_key}.{STEERING_FILE}",
            "field_size": first.field_size,
            "field_warnings": MetadataValue.json(field_warnings),
            "payout_table": first_table.source,
            "entry_fee": first_table.entry_fee,
            "objective": config.objective,
            "acceptance_by_temperature": MetadataValue.json(
                {f"beta={b:.3g}": float(a) for b, a in zip(mh.betas, mh.acceptance, strict=True)}
            ),
            "swap_acceptance": float(mh.swap_acceptance),
            "objective_trace_mean": MetadataValue.json([round(float(v), 5) for v in mh.trace_mean]),
            "objective_trace_best": MetadataValue.json([round(float(v), 5) for v in mh.trace_best]),
            "mcmc_distinct_lineups": int(mh.info["distinct"]),
            "candidates": first.candidates,
            "candidates_by_source": MetadataValue.json(first.stages),
            "portfolio_expected_payout_capped": first.expected_payout_capped,
            "prize_cap": float(config.prize_cap_fees * first_table.entry_fee),
            "upload_csv": f"{ASSET}/{race_key}.{DRAFTKINGS_UPLOAD}",
            "fanduel_upload_csv": (
                f"{ASSET}/{race_key}.{FANDUEL_UPLOAD}" if config.fanduel_lineups else "none"
            ),
            "fanduel_notes": MetadataValue.json(fd_notes + warnings),
            "fanduel_salaries": fd_source,
            "lineups_preview": MetadataValue.md(
                df[PREVIEW_COLUMNS].head(10).to_markdown(index=False, floatfmt=".1f")
            ),
            "objective_trace": _trace_plot(mh, config.objective),
            **timer.metadata(),
            # per contest (searched side by side: these overlap in "contest searches")
            "contest_stage_seconds": MetadataValue.json(contest_stages),
        },
    )


def _contest_row(build: _ContestBuild, contest_record) -> dict:
    """One contest's row of the metadata and of CONTESTS_FILE (its steering included there)."""
    found, a = build.found, build.alloc
    ids = found.lineups["lineup_id"].astype(int).tolist()
    return {
        **contest_record(a.contest),
        "lineups_asked": a.n_lineups,
        "lineups_built": len(ids),
        "allocation": a.why,
        "shortfall_reason": found.shortfall_reason or "none",
        "field_size_searched": build.field_size,
        "expected_payout_capped": found.expected_payout_capped,
        "lineup_ids": ids,
        "steering": build.steering.model_dump(),
    }


def _contests_markdown(rows: list[dict]) -> str:
    cols = [
        "contest_id",
        "name",
        "entry_fee",
        "field_size",
        "max_entries",
        "lineups_asked",
        "lineups_built",
        "shortfall_reason",
    ]
    return pd.DataFrame([{c: r[c] for c in cols} for r in rows]).to_markdown(index=False)


def read_steering(storage: StorageResource, race_key: str):
    """The steering lineup_portfolio wrote beside itself, or None (a build from before it)."""
    from nascar_pipeline.core.steering import Steering

    data = storage.read_beside(ASSET, race_key, STEERING_FILE)
    return None if data is None else Steering.model_validate_json(data)


def read_fanduel_lineups(storage: StorageResource, race_key: str) -> pd.DataFrame | None:
    """The FanDuel lineups lineup_portfolio wrote beside itself, or None (none produced)."""
    data = storage.read_beside(ASSET, race_key, FANDUEL_LINEUPS)
    if data is None:
        return None
    dtypes = {f"d{j}_fd_id": "string" for j in range(1, rules.FANDUEL.roster_size + 1)}
    return pd.read_csv(io.BytesIO(data), dtype=dtypes)


def read_contest_builds(storage: StorageResource, race_key: str) -> list[dict] | None:
    """The per-contest rows lineup_portfolio wrote beside itself (contest fields, lineups asked
    and built, lineup_ids, the steering its lineups obey), or None (a build from before it)."""
    data = storage.read_beside(ASSET, race_key, CONTESTS_FILE)
    return None if data is None else json.loads(data)


def contest_problems(portfolio: pd.DataFrame, builds: list[dict]) -> tuple[list[str], int]:
    """(every problem of the contests' portfolios, how many are steering violations): each
    contest's lineups obey its own steering (exposures are shares of its lineups), number at
    most its max_entries, and are the lineups the build recorded for it."""
    from nascar_pipeline.core.steering import Steering, frame_violations

    problems, violations = [], 0
    ids = portfolio["contest_id"].astype(str) if "contest_id" in portfolio else None
    for b in builds:
        cid = str(b["contest_id"])
        part = portfolio[ids == cid] if ids is not None else portfolio
        if b.get("max_entries") is not None and len(part) > int(b["max_entries"]):
            problems.append(
                f"contest {cid}: {len(part)} lineups > its max_entries {b['max_entries']}"
            )
        if sorted(part["lineup_id"].astype(int)) != sorted(b["lineup_ids"]):
            problems.append(f"contest {cid}: lineups differ from those the build recorded")
        found = frame_violations(part, Steering.model_validate(b["steering"]), SITE)
        violations += len(found)
        problems += [f"contest {cid}: {v}" for v in found]
    if ids is not None:
        unknown = sorted(set(ids) - {str(b["contest_id"]) for b in builds})
        problems += [f"contest {c}: lineups of a contest the build did not record" for c in unknown]
    return problems, violations


@race_check(lineup_portfolio)
def lineup_portfolio_valid(
    context: AssetCheckExecutionContext, storage: StorageResource, lineup_portfolio: pd.DataFrame
) -> AssetCheckResult:
    """Every lineup valid for its site and obeying its contest's steering: DraftKings 6 distinct
    drivers, salary <= 50,000, locks, excludes, groups, salary floor, exposures as shares of the
    contest's lineups, max_shared, at most the contest's max_entries lineups (the contests and
    steering written beside the asset); the FanDuel lineups beside it (when produced) 5
    distinct drivers, FanDuel salary <= 50,000, FanDuel ids on a FanDuel slate."""
    from nascar_pipeline.core.fanduel import fanduel_problems
    from nascar_pipeline.core.lineups import lineup_problems
    from nascar_pipeline.core.steering import frame_violations

    problems = lineup_problems(lineup_portfolio)
    steering = read_steering(storage, context.partition_key)
    builds = read_contest_builds(storage, context.partition_key)
    if builds is not None:
        found, n_violations = contest_problems(lineup_portfolio, builds)
    else:  # a build from before contests: one portfolio under the steering
        found = frame_violations(lineup_portfolio, steering, SITE) if steering else []
        n_violations = len(found)
    problems += found
    fd = read_fanduel_lineups(storage, context.partition_key)
    if fd is not None:
        problems += fanduel_problems(fd)
    return AssetCheckResult(
        passed=len(lineup_portfolio) > 0 and not problems,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "lineups": len(lineup_portfolio),
            "contests": -1 if builds is None else len(builds),
            "fanduel_lineups": -1 if fd is None else len(fd),
            "steering_checked": steering is not None or builds is not None,
            "steering_violations": n_violations,
            "problems": MetadataValue.json(problems[:20]),
        },
    )
