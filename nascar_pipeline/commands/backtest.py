"""`nascar-pipeline backtest --season 2025`: rolling backtest of the race model on real races.

Reads history from the CSV pair (races.csv, results.csv; default <NASCAR_SHARED_DATA>/history)
through the history parser (ontology tables), fits the model on races strictly before
each race of the season, simulates the race and scores the actual result against three baselines.
Prints the season table and writes it as Parquet (--out; per-race rows beside it, *_races.parquet).
Every method's projection error (RMSE of projected minus actual DK points per driver, the
scenarios' spread, the error beyond it) is in both; money (lineups against the contest's cash line
and winning score) and ownership error (MAE against real %Drafted) wherever the history's races
carry real DraftKings salaries, contest facts or %Drafted (the history CSVs do not).

`--form on|off` (default on, as race_model_fit): the model's trailing-form covariates
(core/model/form.py; they read the loop data's running positions when the file is there).
`--lap-position on|off`: laps led and fastest laps conditioned on the realised finish and
start (ModelConfig.lap_position; core/race_story.py lap_position_term).
`--car-contrasts on|off` (default on, as race_model_fit): car effects as contrasts within the
driver-car groups (ModelConfig.car_contrasts). `--team-effect on|off` (default off):
organisation effects under the car (ModelConfig.team_effect). The model settings are kept
beside the per-race rows (*_races_model.json): --resume refuses rows fitted with other settings.
`--loop-data auto|on|off|both` (auto, the default, as race_model_fit: on when there is a loop
file): the model with loop data's measurement model (running position as a
second observation of pace; history/loopstats.csv or --loop-csv; method model_loop), without it
(model), or each race both ways in one run. With --form on both methods read the running
positions as form covariates; `--form off --loop-data off` is the model without loop data at all. A feature Plackett-Luce (log
start, trailing loop-data running position and finish; core/feature_pl.py) is a further baseline,
fitted on the races before each race (it uses loop data whenever the file is there). After the
season table: every method's projected mean DK points against the actual points (mean absolute
error, Spearman rank correlation, the CRPS of the dominator points (laps led, fastest laps), the front row's and the
winner's projected and actual points;
means over races), then per track type every method's order
log-likelihood over the start-position baseline, CRPS, 50 / 90 % coverage, MAE and rank
correlation side by side.
"""

from __future__ import annotations

import math
from pathlib import Path

from nascar_pipeline.commands._argtypes import positive_float, positive_int
from nascar_pipeline.errors import UserInputError


def register(sub) -> None:
    p = sub.add_parser("backtest", help="rolling backtest of the race model on a season")
    p.add_argument("--season", type=int, required=True)
    p.add_argument(
        "--races", type=positive_int, default=None, help="only the first N races of the season"
    )
    p.add_argument("--races-csv", help="default: <NASCAR_SHARED_DATA>/history/races.csv")
    p.add_argument("--results-csv", help="default: <NASCAR_SHARED_DATA>/history/results.csv")
    p.add_argument(
        "--out",
        default="backtest_{season}.parquet",
        help="Parquet file for the season table ({season} is filled in)",
    )
    p.add_argument(
        "--race-week",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder with races.csv + results.csv added to the history (repeatable), "
        "e.g. <NASCAR_SHARED_DATA>/raceweek_2026_sonoma",
    )
    p.add_argument(
        "--dk-slates",
        help="real DraftKings salaries (slate,name,salary,...; draftkings/slates_2026.csv): "
        "money is graded on the races they price",
    )
    p.add_argument(
        "--dk-contests",
        help="real contest facts (contest_date,slate,entries,winning_score,score_p80; "
        "draftkings/contests_2026.csv): the cash line is the 80th-percentile score",
    )
    p.add_argument(
        "--loop-data",
        choices=("auto", "off", "on", "both"),
        default="auto",
        help="fit the model without loop data's measurement model, with it, or both ways for "
        "each race (side by side; --form on reads the running positions as form either way); "
        "auto (default, as race_model_fit): on when there is a loop file",
    )
    p.add_argument(
        "--loop-csv",
        help="loop data (loopstats.csv layout); default: <NASCAR_SHARED_DATA>/history/"
        "loopstats.csv when it exists (required for --loop-data on|both)",
    )
    p.add_argument(
        "--form",
        choices=("on", "off"),
        default="on",
        help="the model's trailing-form covariates (ModelConfig.form; race_model_fit's default: "
        "on): each start's trailing running position, finish and rookie flag",
    )
    p.add_argument(
        "--lap-position",
        choices=("on", "off"),
        default="off",
        help="laps led and fastest laps conditioned on the race's realised finish and start "
        "(ModelConfig.lap_position): the winner of a simulated race leads its laps, a pole "
        "sitter the early ones",
    )
    p.add_argument(
        "--car-contrasts",
        choices=("on", "off"),
        default="on",
        help="car effects as contrasts within each group of drivers and cars linked by their "
        "starts (ModelConfig.car_contrasts; race_model_fit's default: on): a driver who kept "
        "one car has his level in his skill, not split with the car by the priors",
    )
    p.add_argument(
        "--team-effect",
        choices=("on", "off"),
        default="off",
        help="organisation (team) effects under the car (ModelConfig.team_effect): a new car, "
        "a driver joining an organisation and a rookie in it start from its level",
    )
    p.add_argument(
        "--half-life-days",
        type=positive_float,
        default=None,
        help="time decay of the history's likelihood (ModelConfig.half_life_days; default "
        "365: a race a year old counts half): recency, tuned by this backtest",
    )
    p.add_argument(
        "--incidents",
        type=_incidents,
        default="tuned",
        metavar="off|tuned|SHARPEN,RATE,COST[;TYPE=off|S,R,C...]",
        help="the scenarios' incident layer (core/incidents.py; default tuned, as "
        "race_scenarios): the order's performance sharpened and each running car's incident "
        "risk; tuned: the values benchmarks/tune_incidents.py chose on 2024, superspeedways "
        "left off; a track type's own after ';' (e.g. '1.5,0.1,2;road=2,0.1,4;superspeedway=off')",
    )
    p.add_argument("--chains", type=positive_int, default=2)
    p.add_argument("--warmup", type=positive_int, default=150)
    p.add_argument("--draws", type=positive_int, default=200)
    p.add_argument("--scenarios", type=positive_int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the races already in the per-race Parquet beside --out",
    )
    p.set_defaults(func=run)


def _history_files(args, shared_data: Path | None) -> tuple[Path, Path]:
    """--races-csv/--results-csv, each defaulting to the shared data's history folder."""
    files = []
    for given, name in ((args.races_csv, "races.csv"), (args.results_csv, "results.csv")):
        if given:
            files.append(Path(given))
        elif shared_data is not None:
            files.append(shared_data / "history" / name)
        else:
            raise UserInputError(
                f"--{name.replace('.', '-')}: not given, and NASCAR_SHARED_DATA (the folder "
                "holding history/races.csv and history/results.csv) is not set"
            )
    for f in files:
        if not f.exists():
            raise UserInputError(f"file {f}: not found (pass --races-csv/--results-csv)")
    return files[0], files[1]


def _incidents(text: str):
    import argparse

    from nascar_pipeline.core.incidents import Incidents

    try:
        return Incidents.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _same_model_settings(races_out: Path, settings: dict, resuming: bool) -> None:
    """The model settings (ModelConfig.as_dict) kept beside the per-race table: --resume
    refuses rows fitted with other settings (--form, --lap-position, --car-contrasts,
    --half-life-days, --incidents), which
    would mix two models in one season table; a fresh run records its own."""
    import json

    from nascar_pipeline.core.incidents import OFF

    kept = races_out.with_name(races_out.stem + "_model.json")
    if resuming:
        before = json.loads(kept.read_text()) if kept.exists() else None
        if isinstance(before, dict):  # kept before --incidents existed: scenarios without them
            before.setdefault("incidents", list(OFF.as_tuple()))
        if before != settings:
            off = list(OFF.as_tuple())
            hint = ""
            if (
                isinstance(before, dict)
                and before["incidents"] == off != settings["incidents"]
                and not any(k.startswith("incidents_") for k in before)  # no track type's own
            ):
                # --incidents defaulted to off before the layer was judged on 2025
                hint = " (the first run's scenarios had no incidents: --incidents off)"
            raise UserInputError(
                f"--resume: {races_out} was fitted with model settings {before} (none recorded: "
                f"an earlier version), this run {settings}: pass the first run's --form, "
                "--lap-position, --car-contrasts, --team-effect, --half-life-days and --incidents"
                f"{hint}, or run without --resume"
            )
    else:
        kept.write_text(json.dumps(settings, sort_keys=True))


def run(args) -> int:
    from nascar_pipeline.core.jax_setup import enable_compilation_cache
    from nascar_pipeline.settings import get_settings

    settings = get_settings()
    races_csv, results_csv = _history_files(args, settings.shared_data)
    loop_csv = _loop_file(args, settings.shared_data)
    # Before the model's modules load: the first call decides the cache folder for the process.
    enable_compilation_cache(settings.jax_cache_dir)

    import pandas as pd

    from nascar_pipeline.core.backtest import history_from_tables, run_backtest, track_type_table
    from nascar_pipeline.core.model import FitConfig, ModelConfig
    from nascar_pipeline.ontology.parsers.history import parse_history

    print(f"loading history: {races_csv}, {results_csv}", flush=True)
    tables = parse_history(races_csv, results_csv)
    tables = _with_extra_inputs(tables, args)
    history = history_from_tables(tables)
    loop = _loop_rows(loop_csv, history) if loop_csv is not None else None
    cfg = FitConfig(
        num_warmup=args.warmup, num_samples=args.draws, num_chains=args.chains, seed=args.seed
    )
    out = Path(str(args.out).format(season=args.season))
    out.parent.mkdir(parents=True, exist_ok=True)
    races_out = out.with_name(out.stem + "_races.parquet")

    def save(per_race, table):  # after every race: a partial run leaves its results
        table.to_parquet(out, index=False)
        per_race.to_parquet(races_out, index=False)

    done = pd.read_parquet(races_out) if args.resume and races_out.exists() else None
    if done is not None and len(done) and "order_loglik_folded" not in done.columns:
        # Rows from before the DNF-mixture scoring: resuming would mix two scorings.
        raise UserInputError(
            f"--resume: {races_out} was scored before the model's order was scored by its "
            "mixture over DNFs (no order_loglik_folded column); run without --resume"
        )
    modes = loop_modes(args.loop_data, loop_csv)
    if done is not None and len(done):
        from nascar_pipeline.core.backtest import MODEL_METHODS

        wanted = {MODEL_METHODS[on] for on in modes}
        had = set(done["method"]) & set(MODEL_METHODS.values())
        if had and had != wanted:
            raise UserInputError(
                f"--resume: {races_out} holds the model as {sorted(had)}, this run would fit "
                f"{sorted(wanted)} (--loop-data {args.loop_data}): pass the --loop-data of the "
                "first run, or run without --resume"
            )
    model_config = ModelConfig(
        form=args.form == "on",
        lap_position=args.lap_position == "on",
        car_contrasts=args.car_contrasts == "on",
        team_effect=args.team_effect == "on",
        **({} if args.half_life_days is None else {"half_life_days": args.half_life_days}),
    )
    incidents = args.incidents  # argparse parsed the default too
    print(f"scenario incidents: {incidents.describe()}", flush=True)
    settings_kept = model_config.as_dict() | incidents.settings()
    _same_model_settings(races_out, settings_kept, resuming=done is not None)
    try:
        per_race, table = run_backtest(
            history,
            args.season,
            n_races=args.races,
            fit_config=cfg,
            model_config=model_config,
            n_scenarios=args.scenarios,
            seed=args.seed,
            log=lambda m: print(m, flush=True),
            on_race=save,
            done=done,
            contests=tables.contests,
            loop=loop,
            loop_modes=modes,
            incidents=incidents,
        )
    except ValueError as e:
        raise UserInputError(str(e)) from None
    save(per_race, table)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for line in (
        report_lines(table)
        + comparison_lines(table)
        + projection_lines(table)
        + gate_lines(per_race)
    ):
        print(line)
    by_type = track_type_table(per_race)
    by_type.to_parquet(out.with_name(out.stem + "_by_track_type.parquet"), index=False)
    print(
        "\nper track type (ll_vs_start_position: order log-likelihood gain in nats per race; "
        "mae_dk, rank_corr_dk: projections against the actual DK points):"
    )
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(by_type.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"wrote {out}")
    return 0


def loop_modes(setting: str, loop_csv) -> tuple:
    """--loop-data as run_backtest's loop_modes; auto: on when there is a loop file."""
    from nascar_pipeline.core.backtest import LOOP_MODES

    if setting == "auto":
        return (loop_csv is not None,)
    return LOOP_MODES[setting]


def _loop_file(args, shared_data: Path | None) -> Path | None:
    """--loop-csv, else the shared data's history/loopstats.csv when it exists; None without
    one (then --loop-data must be off or auto)."""
    path = Path(args.loop_csv) if args.loop_csv else None
    if path is None and shared_data is not None:
        default = shared_data / "history" / "loopstats.csv"
        path = default if default.exists() else None
    if path is not None and not path.exists():
        raise UserInputError(f"file {path}: not found (--loop-csv)")
    if path is None and args.loop_data in ("on", "both"):
        raise UserInputError(
            f"--loop-data {args.loop_data}: no loop data (pass --loop-csv, or set "
            "NASCAR_SHARED_DATA to the folder holding history/loopstats.csv)"
        )
    return path


def _loop_rows(path: Path, history):
    """Loop rows with the history's race keys (Cup rows matched by NASCAR race id)."""
    from nascar_pipeline.core.model.loop_data import keyed_to_history
    from nascar_pipeline.ontology.parsers.loopdata import parse_loopdata

    print(f"loading loop data: {path}", flush=True)
    return keyed_to_history(parse_loopdata(path).loop_stats, history)


def _with_extra_inputs(tables, args):
    """The history plus --race-week folders, --dk-slates salaries and --dk-contests facts."""
    from nascar_pipeline.commands._backtest_inputs import (
        attach_contests,
        attach_slates,
        merge_tables,
    )
    from nascar_pipeline.ontology.parsers.history import parse_history

    for folder in args.race_week:
        d = Path(folder)
        for f in (d / "races.csv", d / "results.csv"):
            if not f.exists():
                raise UserInputError(f"file {f}: not found (--race-week {folder})")
        print(f"loading race week: {d}", flush=True)
        tables = merge_tables(tables, parse_history(d / "races.csv", d / "results.csv"))
    for given, attach, what in (
        (args.dk_slates, attach_slates, "real DraftKings salaries"),
        (args.dk_contests, attach_contests, "real contest facts"),
    ):
        if given:
            if not Path(given).exists():
                raise UserInputError(f"file {given}: not found")
            tables, keys = attach(tables, Path(given))
            print(f"{what} for {len(keys)} races: {', '.join(keys) or '-'}", flush=True)
    return tables


def gate_lines(per_race) -> list[str]:
    """Per model method: how many races' fits pass the convergence gate as they are (R-hat,
    bulk ESS, divergences; race_model_fit would re-fit the others), and the time per race."""
    import numpy as np

    from nascar_pipeline.core.model.diagnostics import convergence_check

    out = []
    for method in ("model", "model_loop"):
        rows = per_race[per_race["method"] == method]
        if rows.empty or "rhat_max" not in rows:
            continue
        passed = sum(
            convergence_check(
                {
                    "rhat_max": r.rhat_max,
                    "ess_bulk_min": r.ess_bulk_min,
                    # rows of a run before the column: NaN, read as no divergences
                    "divergence_rate": np.nan_to_num(getattr(r, "divergence_rate", 0.0)),
                }
            )[0]
            for r in rows.itertuples()
        )
        secs = rows["fit_sim_seconds"] if "fit_sim_seconds" in rows else None
        timing = (
            f"; fit + scenarios {secs.mean():.0f} s per race (max {secs.max():.0f} s)"
            if secs is not None and secs.notna().any()
            else ""
        )
        out.append(
            f"convergence gate ({method}): {passed} of {len(rows)} races pass without a re-fit "
            f"(R-hat max {rows['rhat_max'].max():.4f}, lowest bulk ESS "
            f"{rows['ess_bulk_min'].min():.0f}){timing}"
        )
    return out


def report_lines(table) -> list[str]:
    """The honest-ROI error figure, and what money and ownership grading found (or why none)."""
    import pandas as pd

    lines = []
    model = table[table["method"] == "model"]
    if len(model) and "rmse_dk" in model:
        m = model.iloc[0]
        lines.append(
            f"projection error (model, pooled over driver-races): RMSE {m['rmse_dk']:.2f} DK "
            f"points, scenario spread {m['scenario_sd']:.2f}, beyond the spread "
            f"{m['excess_error_sd']:.2f} (core/honest_roi.py error_sd)"
        )
    if "money_races" in table and table["money_races"].notna().any():
        for r in table[table["money_races"].notna()].itertuples(index=False):
            lines.append(
                f"money {r.method}: {int(r.money_races)} races, lineups cashed "
                f"{r.money_cash_rate:.0%}, best lineup cashed in {r.money_best_cashed:.0%} of "
                f"races, reached the winning score in {r.money_beat_winner:.0%}"
            )
    else:
        lines.append("money: no race of the season has real DraftKings salaries in the history")
    own = [c for c in ("own_mae_defaults", "own_mae_salary_only") if c in table]
    if own and pd.notna(model.iloc[0][own[0]] if len(model) else None):
        m = model.iloc[0]
        lines.append(
            "ownership MAE vs real %Drafted: defaults "
            + ", salary only ".join(f"{m[c]:.2f}" for c in own)
        )
    return lines


def _discrete(row, level: int) -> str:
    """' (randomized PIT 54.9, own mass 52.4)': the coverage whose calibrated value is the
    level, and the share of the forecast's own draws inside its closed interval (DK points are
    discrete: core.backtest.pit_coverage, interval_mass); nothing where the rows lack them."""
    pit, own = row.get(f"pit{level}_pct"), row.get(f"mass{level}_pct")
    if pit is None or own is None or math.isnan(float(pit)):
        return ""
    return f" (randomized PIT {pit:.1f}, own mass {own:.1f})"


def comparison_lines(table) -> list[str]:
    """The model (with / without loop data) against the start-position and feature-PL
    baselines: order log-likelihood gain in nats per race, DK-points CRPS change, coverage."""
    rows = table.set_index("method")
    lines = []
    for m in ("model", "model_loop"):
        if m not in rows.index:
            continue
        r = rows.loc[m]
        parts = []
        for base in ("start_position", "feature_pl"):
            if base in rows.index:
                b = rows.loc[base]
                parts.append(
                    f"vs {base}: {r['order_loglik_per_race'] - b['order_loglik_per_race']:+.2f} "
                    f"nats/race, CRPS {100 * (r['crps_dk'] / b['crps_dk'] - 1):+.1f} %"
                )
        lines.append(
            f"{m}: " + "; ".join(parts) + f"; coverage 50 % {r['cover50_pct']:.1f}"
            f"{_discrete(r, 50)}, 90 % {r['cover90_pct']:.1f}{_discrete(r, 90)}"
        )
    return lines


def projection_lines(table) -> list[str]:
    """Every method's projected mean DK points against the actual points, side by side (means
    over races): mean absolute error and Spearman rank correlation, the figures a player sets
    beside a vendor's sheet."""
    import pandas as pd

    from nascar_pipeline.core.backtest import METHODS

    if "mae_dk" not in table:
        return []
    rank = {m: i for i, m in enumerate(METHODS)}
    t = table.sort_values("method", key=lambda s: s.map(rank).fillna(len(METHODS)))
    lines = ["projections vs actual DK points (means over races):"]
    for r in t.itertuples(index=False):
        corr = getattr(r, "rank_corr_dk", float("nan"))
        corr_text = "n/a" if pd.isna(corr) else f"{corr:+.3f}"
        front = ""
        if pd.notna(getattr(r, "crps_dom_dk", float("nan"))):
            front += f"  dominator CRPS {r.crps_dom_dk:5.2f}"
        if pd.notna(getattr(r, "front_row_proj_dk", float("nan"))):
            front += (
                f"  front row {r.front_row_proj_dk:5.1f} (actual {r.front_row_dk:5.1f})"
                f"  winner {r.winner_proj_dk:5.1f} (actual {r.winner_dk:5.1f})"
            )
        lines.append(f"  {r.method:<20} MAE {r.mae_dk:6.2f}  rank correlation {corr_text}{front}")
    return lines
