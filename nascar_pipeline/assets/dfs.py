"""DFS assets: ownership_projections -> lineup_portfolio -> contest_simulation (per race partition).

- ownership_projections: hybrid ownership (core/ownership.py): a feature model (fitted to the
  historical DraftKings ownership in the snapshot when there is enough, else stated defaults)
  blended with the rate each driver is in the optimal lineup across the race's scenarios.
  Operators pin drivers through run config (`overrides`: driver name or driver_id -> pct).
- lineup_portfolio: Metropolis-Hastings (parallel tempering) over valid DraftKings lineups toward
  the expected payout against a field drawn from that ownership, plus the exact optimizer's best
  lineups by mean points; then a greedy marginal-gain portfolio under exposure caps and a maximum
  overlap, chosen on scenarios the sampler did not see. One row per lineup (wide: d1..d6). The
  DraftKings bulk-upload CSV is written beside it: `<root>/lineup_portfolio/<race>.draftkings.csv`.
  FanDuel lineups (5 drivers, FanDuel's $50,000 cap, FanDuel points; exact optimizer) are written
  beside it too: `<race>.fanduel.csv` (FanDuel's upload: player ids) and
  `<race>.fanduel_lineups.csv` (readable: ids, names, salaries). They use the race's FanDuel
  salaries and ids when `ingest fd-salaries` loaded them, else a stand-in (DraftKings x 6/5,
  names in the cells: not uploadable; the export command says so).
- contest_simulation: the portfolio against a fresh field in every scenario not used for the
  selection (all scenarios when too few are left): ROI, cash %, win %, top-1 %, mean rank and
  simulated duplicates per lineup; the portfolio's ROI distribution in metadata.

Blocking checks: ownership totals (roster x 100 %, each driver in [0, 100]); every lineup valid for
its site (roster size, salary cap, distinct drivers from the slate: the DraftKings portfolio, and
the FanDuel lineups beside it against FanDuel's roster and cap); simulation summaries finite.
"""

import base64
import io

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
    asset,
    asset_check,
)
from pydantic import Field

from nascar_pipeline.assets.partitions import races_partitions
from nascar_pipeline.assets.tracing import asset_span
from nascar_pipeline.core import rules

SITE = rules.DRAFTKINGS
FIELD_SEED_OFFSET = 7919


# ----------------------------------------------------------------------------- inputs


def slate_arrays(
    race_snapshot: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    driver_projections: pd.DataFrame | None = None,
    site: str = "draftkings",
):
    """The slate (entry rows with a salary, in driver_id order) and its (S, D) points matrix.

    Adapter from the race_scenarios long table (sorted by scenario, driver_id) to the matrix the
    core functions take; drivers without a salary are not on the slate and are dropped.
    """
    e = race_snapshot[race_snapshot["role"] == "entry"]
    col = "dk_points" if rules.get_site(site).name == "draftkings" else "fd_points"
    if col == "fd_points" and has_fanduel_slate(race_snapshot):
        # the FanDuel slate: drivers with a FanDuel salary (ingested with `ingest fd-salaries`)
        e = e[e["fd_salary"].notna()].sort_values("driver_id").reset_index(drop=True)
    else:
        e = e[e["salary"].notna()].sort_values("driver_id").reset_index(drop=True)
    if e.empty:
        raise ValueError("no entry has a salary: the slate is not ingested yet")
    wide = race_scenarios.pivot(index="scenario", columns="driver_id", values=col).sort_index(
        axis=1
    )
    missing = sorted(set(e["driver_id"].astype("int64")) - set(wide.columns.astype("int64")))
    if missing:
        raise ValueError(f"drivers on the slate without scenarios: {missing[:10]}")
    ids = e["driver_id"].astype("int64").to_numpy()
    points = wide[ids].to_numpy(dtype=np.float32)
    if driver_projections is not None and len(driver_projections):
        proj = driver_projections.set_index("driver_id")[
            "dk_mean" if col == "dk_points" else "fd_mean"
        ]
        e["projection"] = e["driver_id"].map(proj).astype(float)
    else:
        e["projection"] = points.mean(axis=0).astype(float)
    e["projection"] = e["projection"].fillna(pd.Series(points.mean(axis=0), index=e.index))
    return e, points


def has_fanduel_slate(race_snapshot: pd.DataFrame) -> bool:
    """Whether the race's FanDuel slate (fd_salary and fd_id) is in the snapshot."""
    e = race_snapshot[race_snapshot["role"] == "entry"]
    return "fd_salary" in e and "fd_id" in e and bool(e["fd_salary"].notna().any())


def recent_form(race_snapshot: pd.DataFrame, driver_ids, last: int = 5) -> np.ndarray:
    """Mean DraftKings points of each driver's last `last` history races (NaN without any)."""
    h = race_snapshot[
        (race_snapshot["role"] == "history")
        & race_snapshot["finish_position"].notna()
        & race_snapshot["start_position"].notna()
    ].copy()
    if h.empty:
        return np.full(len(driver_ids), np.nan)
    h["pts"] = rules.draftkings_points(
        h["start_position"].astype(int),
        h["finish_position"].astype(int),
        h["laps_led"].fillna(0).astype(int),
        h["fastest_laps"].fillna(0).astype(int),
    )
    h = h.sort_values(["race_date", "race_key"])
    form = h.groupby("driver_id")["pts"].apply(lambda s: s.tail(last).mean())
    return pd.Series(list(driver_ids)).map(form).to_numpy(dtype=float)


def historical_ownership_slates(race_snapshot: pd.DataFrame, min_drivers: int = 10):
    """Past races with actual DraftKings ownership, as (features, ownership) pairs for the fit.

    The projection a past slate was priced with is not stored, so each driver's mean DraftKings
    points over his previous five races stands in for it (and for form)."""
    from nascar_pipeline.core.ownership import feature_matrix

    h = race_snapshot[race_snapshot["role"] == "history"].copy()
    need = ["dk_own_pct", "salary", "start_position", "finish_position"]
    if h.empty or any(c not in h for c in need):
        return []
    h = h.sort_values(["race_date", "race_key"])
    ok = h["start_position"].notna() & h["finish_position"].notna()
    h["pts"] = np.nan
    h.loc[ok, "pts"] = rules.draftkings_points(
        h.loc[ok, "start_position"].astype(int),
        h.loc[ok, "finish_position"].astype(int),
        h.loc[ok, "laps_led"].fillna(0).astype(int),
        h.loc[ok, "fastest_laps"].fillna(0).astype(int),
    )
    h["prior_form"] = h.groupby("driver_id")["pts"].transform(
        lambda s: s.shift(1).rolling(5, min_periods=1).mean()
    )
    out = []
    for _, g in h.groupby("race_key", sort=False):
        g = g[g["dk_own_pct"].notna() & g["salary"].notna()]
        if len(g) < min_drivers:
            continue
        proj = g["prior_form"].fillna(g["prior_form"].mean()).fillna(0).to_numpy(float)
        X = feature_matrix(_floats(g["salary"]), proj, _floats(g["start_position"]), proj)
        y = _floats(g["dk_own_pct"])
        y = y / y.sum() * 100.0 * SITE.roster_size if y.sum() > 0 else y
        out.append((X, y))
    return out


def _floats(col: pd.Series) -> np.ndarray:
    """A nullable column as float64 with NaN for missing values."""
    return (
        pd.to_numeric(col, errors="coerce").astype("Float64").to_numpy(np.float64, na_value=np.nan)
    )


def _resolve_overrides(overrides: dict[str, float], slate: pd.DataFrame) -> dict[int, float]:
    """Run-config overrides keyed by driver_id (as text) or driver name -> slate index -> pct."""
    from nascar_pipeline.errors import UserInputError

    by_id = {str(int(d)): i for i, d in enumerate(slate["driver_id"])}
    by_name = {str(n).strip().lower(): i for i, n in enumerate(slate["driver_name"])}
    out: dict[int, float] = {}
    for key, pct in (overrides or {}).items():
        k = str(key).strip()
        i = by_id.get(k, by_name.get(k.lower()))
        if i is None:
            raise UserInputError(
                f"run config ownership override {key!r}: no such driver on the slate"
            )
        out[i] = float(pct)
    return out


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


# ----------------------------------------------------------------------------- ownership


class OwnershipConfig(Config):
    blend: float = Field(0.7, ge=0.0, le=1.0, description="weight of the feature model")
    max_scenarios: int = Field(2000, ge=10, description="scenarios for the optimal-lineup rate")
    overrides: dict[str, float] = Field(
        default_factory=dict, description="driver_id or driver name -> ownership pct"
    )
    min_history_races: int = Field(3, ge=1, description="past races with ownership to fit")


@asset(
    partitions_def=races_partitions,
    group_name="dfs",
    io_manager_key="parquet_io_manager",
    code_version="1",
    kinds={"numpy", "parquet"},
    description="Projected DraftKings ownership per driver: feature model (fitted to historical "
    "ownership when available) blended with the simulated-optimal rate; overrides.",
)
def ownership_projections(
    context: AssetExecutionContext,
    config: OwnershipConfig,
    race_snapshot: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    driver_projections: pd.DataFrame,
) -> Output[pd.DataFrame]:
    from nascar_pipeline.core.ownership import DEFAULT_COEFS, fit_ownership_model, project_ownership

    with asset_span(context):
        slate, points = slate_arrays(race_snapshot, race_scenarios, driver_projections)
        form = recent_form(race_snapshot, slate["driver_id"])
        hist = historical_ownership_slates(race_snapshot)
        if len(hist) >= config.min_history_races:
            coefs, source = fit_ownership_model(hist), f"fitted on {len(hist)} past races"
        else:
            coefs, source = (
                dict(DEFAULT_COEFS),
                (
                    f"stated defaults ({len(hist)} past races with "
                    "ownership; fit needs "
                    f"{config.min_history_races})"
                ),
            )
        fixed = _resolve_overrides(config.overrides, slate)
        res = project_ownership(
            _floats(slate["salary"]),
            _floats(slate["projection"]),
            SITE.roster_size,
            SITE.salary_cap,
            start_position=_floats(slate["start_position"]),
            form=form,
            points=points,
            coefs=coefs,
            blend=config.blend,
            overrides=fixed,
            max_scenarios=config.max_scenarios,
        )
    out = (
        pd.DataFrame(
            {
                "driver_id": slate["driver_id"].astype("int64"),
                "driver_name": slate["driver_name"].astype("string"),
                "salary": slate["salary"].astype("int64"),
                "dk_id": slate["dk_id"].astype("Int64"),
                "start_position": slate["start_position"].astype("Int64"),
                "projection": slate["projection"].astype(float),
                "recent_form": form,
                "own_pct": res.ownership,
                "own_model_pct": res.model,
                "own_optimal_pct": res.optimal if res.optimal is not None else np.nan,
                "overridden": [i in fixed for i in range(len(slate))],
                "actual_own_pct": slate["dk_own_pct"].astype("Float64"),
            }
        )
        .sort_values("own_pct", ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    md = out.head(12)[
        ["driver_name", "salary", "projection", "own_pct", "own_model_pct", "own_optimal_pct"]
    ].to_markdown(index=False, floatfmt=".1f")
    return Output(
        out,
        metadata={
            "drivers": len(out),
            "total_pct": float(out["own_pct"].sum()),
            "coefficients": MetadataValue.json({k: float(v) for k, v in res.coefs.items()}),
            "coefficient_source": source,
            "blend_model_weight": float(res.blend),
            "overrides": MetadataValue.json(
                {str(slate["driver_name"].iloc[i]): v for i, v in fixed.items()}
            ),
            "top_ownership": MetadataValue.md(md),
        },
    )


@asset_check(
    asset=ownership_projections,
    blocking=True,
    partitions_def=races_partitions,
    description="Ownership totals roster size x 100 % (600 % on DraftKings); each driver "
    "within [0, 100].",
)
def ownership_totals_valid(ownership_projections: pd.DataFrame) -> AssetCheckResult:
    own = ownership_projections["own_pct"].to_numpy(float)
    total = float(own.sum())
    ok = (
        len(own) >= SITE.roster_size
        and np.isfinite(own).all()
        and abs(total - 100.0 * SITE.roster_size) < 1e-6
        and own.min() >= 0.0
        and own.max() <= 100.0 + 1e-9
    )
    return AssetCheckResult(
        passed=bool(ok),
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "total_pct": total,
            "min_pct": float(own.min()) if len(own) else 0.0,
            "max_pct": float(own.max()) if len(own) else 0.0,
        },
    )


# ----------------------------------------------------------------------------- portfolio


class PortfolioConfig(Config):
    n_lineups: int = Field(20, ge=1, le=150)
    max_exposure: float = Field(0.6, gt=0.0, le=1.0, description="max share of lineups per driver")
    max_overlap: int = Field(4, ge=0, le=5, description="max drivers shared by two lineups")
    min_salary: int = Field(45_000, ge=0, description="salary floor of our lineups")
    field_min_salary: int = Field(46_000, ge=0, description="salary floor of field lineups")
    field_size: int | None = Field(
        None,
        description="field lineups; default: contest field size "
        "(or 10,000), at most 20,000 for the search",
    )
    objective: str = Field("ev", description="'ev' (expected payout) or 'top1' (top-1 % chance)")
    objective_scenarios: int = Field(1000, ge=50, description="scenarios seen by the sampler")
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


FD_STAND_IN = 6 / 5  # FanDuel salary stand-in: DraftKings salary x 6/5 (5 drivers share the cap)
FD_LINEUPS_FILE = "fanduel_lineups.csv"  # the FanDuel lineups, readable, beside the asset
FD_ID_RE = r"^\d+-\d+$"  # a FanDuel player id: <slate>-<player>


def fanduel_portfolio(
    race_snapshot: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    k: int,
    max_exposure: float = 0.6,
    max_shared: int = 3,
):
    """FanDuel lineups (5 drivers, $50,000 cap) maximizing mean FanDuel points (`fd_points` of
    the scenarios), exact optimizer, as a frame: lineup_id, site, d{j}_driver_id, d{j}_name,
    d{j}_fd_id, d{j}_salary (j = 1..5), salary, projection, salary_source.

    With the race's FanDuel slate in the snapshot (`fd_salary`/`fd_id`, from `ingest
    fd-salaries`) the slate is its drivers with their FanDuel salaries and ids
    (salary_source "fanduel"). Without it, salaries are a stand-in (DraftKings x 6/5, to $100),
    ids are null and the upload file carries names, which FanDuel will not accept
    (salary_source "stand-in", said in the notes). Returns (frame, notes)."""
    from nascar_pipeline.core.optimize import optimize_lineups

    site = rules.FANDUEL
    slate, points = slate_arrays(race_snapshot, race_scenarios, None, site="fanduel")
    notes = []
    real = has_fanduel_slate(race_snapshot)
    if real:
        sal = _floats(slate["fd_salary"])
        ids = slate["fd_id"]
    else:
        sal = np.round(_floats(slate["salary"]) * FD_STAND_IN / 100.0) * 100.0
        ids = pd.Series([None] * len(slate))
        notes.append(
            "FanDuel salaries are not in the ontology for this race (ingest them with "
            "`nascar-pipeline ingest fd-salaries`): lineups use a stand-in (DraftKings "
            "salary x 6/5) and the FanDuel upload file is NOT uploadable"
        )
    res = optimize_lineups(
        points.mean(axis=0),
        sal,
        site.roster_size,
        site.salary_cap,
        k=k,
        max_exposure=max_exposure,
        max_shared=max_shared,
    )
    L = np.asarray(res.lineups, dtype=np.int64).reshape(-1, site.roster_size)
    proj = points.mean(axis=0).astype(float)
    fd_ids = np.array([None if pd.isna(v) else str(v) for v in ids], dtype=object)
    df = pd.DataFrame({"lineup_id": np.arange(len(L), dtype=np.int64), "site": site.name})
    for j in range(site.roster_size):
        idx = L[:, j]
        df[f"d{j + 1}_driver_id"] = slate["driver_id"].to_numpy(np.int64)[idx]
        df[f"d{j + 1}_name"] = slate["driver_name"].astype(str).to_numpy()[idx]
        df[f"d{j + 1}_fd_id"] = pd.array(fd_ids[idx], dtype="string")
        df[f"d{j + 1}_salary"] = sal[idx].astype(np.int64)
    df["salary"] = sal[L].sum(axis=1).astype(np.int64) if len(L) else np.zeros(0, np.int64)
    df["projection"] = proj[L].sum(axis=1) if len(L) else np.zeros(0)
    df["salary_source"] = "fanduel" if real else "stand-in"
    return df, notes


def fanduel_frame_lineups(df: pd.DataFrame) -> list[list[tuple[str, object]]]:
    """Rows of a fanduel_portfolio frame -> [(name, fd_id or None), ...] per lineup."""
    R = rules.FANDUEL.roster_size
    return [
        [
            (row[f"d{j}_name"], None if pd.isna(row[f"d{j}_fd_id"]) else row[f"d{j}_fd_id"])
            for j in range(1, R + 1)
        ]
        for _, row in df.iterrows()
    ]


def fanduel_lineups(
    race_snapshot: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    k: int,
    max_exposure: float = 0.6,
    max_shared: int = 3,
):
    """fanduel_portfolio as (lineups as [(name, fd_id or None)], notes)."""
    df, notes = fanduel_portfolio(race_snapshot, race_scenarios, k, max_exposure, max_shared)
    return fanduel_frame_lineups(df), notes


def fanduel_problems(df: pd.DataFrame) -> list[str]:
    """FanDuel lineups valid for FanDuel: 5 distinct drivers, salary <= $50,000, every driver
    with a salary; lineups on FanDuel salaries also carry a FanDuel player id in every cell."""
    import re

    problems = lineup_problems(df, rules.FANDUEL)
    if problems or "salary_source" not in df or not (df["salary_source"] == "fanduel").any():
        return problems
    rx = re.compile(FD_ID_RE)
    for i, row in df.reset_index(drop=True).iterrows():
        bad = [
            row[f"d{j}_name"]
            for j in range(1, rules.FANDUEL.roster_size + 1)
            if pd.isna(row[f"d{j}_fd_id"]) or not rx.match(str(row[f"d{j}_fd_id"]))
        ]
        if bad:
            problems.append(f"fanduel lineup {i}: no valid FanDuel id for {', '.join(bad)}")
    return problems


def contest_table(race_snapshot: pd.DataFrame, n_entries: int):
    """The race's ingested contest payout table, or the stated default DraftKings-like GPP."""
    from nascar_pipeline.core.contest import default_gpp_payouts, payout_table_from_json

    e = race_snapshot[race_snapshot["role"] == "entry"]
    if "contest_payouts" in e and e["contest_payouts"].notna().any():
        row = e[e["contest_payouts"].notna()].iloc[0]
        fee = float(row["contest_entry_fee"]) if pd.notna(row["contest_entry_fee"]) else 20.0
        return payout_table_from_json(str(row["contest_payouts"]), fee)
    return default_gpp_payouts(n_entries, 20.0)


def contest_field_size(race_snapshot: pd.DataFrame, default: int = 10_000) -> int:
    e = race_snapshot[race_snapshot["role"] == "entry"]
    if "contest_field_size" in e and e["contest_field_size"].notna().any():
        return int(e["contest_field_size"].dropna().iloc[0])
    return default


def _lineup_frame(L: np.ndarray, slate: pd.DataFrame, site: str) -> pd.DataFrame:
    R = L.shape[1]
    df = pd.DataFrame({"lineup_id": np.arange(len(L), dtype=np.int64), "site": site})
    sal = slate["salary"].to_numpy(np.int64)
    proj = slate["projection"].to_numpy(float)
    for j in range(R):
        idx = L[:, j]
        df[f"d{j + 1}_driver_id"] = slate["driver_id"].to_numpy(np.int64)[idx]
        df[f"d{j + 1}_name"] = slate["driver_name"].astype(str).to_numpy()[idx]
        df[f"d{j + 1}_dk_id"] = pd.array(slate["dk_id"].to_numpy()[idx], dtype="Int64")
        df[f"d{j + 1}_salary"] = sal[idx]
    df["salary"] = sal[L].sum(axis=1)
    df["projection"] = proj[L].sum(axis=1)
    return df


def portfolio_lineups(df: pd.DataFrame) -> list[list[tuple[str, object]]]:
    """Rows of a lineup_portfolio frame -> [(name, dk_id), ...] per lineup."""
    R = sum(1 for c in df.columns if c.endswith("_driver_id") and c.startswith("d"))
    return [
        [(row[f"d{j}_name"], row[f"d{j}_dk_id"]) for j in range(1, R + 1)]
        for _, row in df.iterrows()
    ]


@asset(
    partitions_def=races_partitions,
    group_name="dfs",
    io_manager_key="parquet_io_manager",
    code_version="1",
    kinds={"numpy", "parquet", "csv"},
    description="A DraftKings lineup portfolio: MCMC (parallel-tempering Metropolis-Hastings) "
    "toward expected payout against an ownership-drawn field, exact optimizer "
    "lineups, greedy marginal-gain selection under exposure and overlap limits. "
    "DraftKings bulk-upload CSV beside it.",
)
def lineup_portfolio(
    context: AssetExecutionContext,
    config: PortfolioConfig,
    race_snapshot: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    driver_projections: pd.DataFrame,
    ownership_projections: pd.DataFrame,
) -> Output[pd.DataFrame]:
    from nascar_pipeline.core.contest import generate_field
    from nascar_pipeline.core.export import draftkings_upload_csv
    from nascar_pipeline.core.optimize import optimize_lineups
    from nascar_pipeline.core.portfolio import FieldObjective, greedy_portfolio, mh_sample
    from nascar_pipeline.storage.layout import layout_from_env

    if config.objective not in ("ev", "top1"):
        from nascar_pipeline.errors import UserInputError

        raise UserInputError(f"run config objective {config.objective!r}: use 'ev' or 'top1'")
    rng = np.random.default_rng(config.seed)
    with asset_span(context):
        slate, points = slate_arrays(race_snapshot, race_scenarios, driver_projections)
        own = slate["driver_id"].map(ownership_projections.set_index("driver_id")["own_pct"])
        own = own.fillna(0.0).to_numpy(float)
        sal = slate["salary"].to_numpy(float)
        S = points.shape[0]
        n_obj = min(config.objective_scenarios, max(S // 2, 1))
        n_sel = min(config.selection_scenarios, max(S - n_obj, 1))
        pts_obj = points[:n_obj]
        pts_sel = points[n_obj : n_obj + n_sel] if S > n_obj else points[:n_obj]
        F = min(config.field_size or contest_field_size(race_snapshot), 20_000)
        N = config.n_lineups
        table = contest_table(race_snapshot, F + N)
        field = generate_field(
            own,
            sal,
            SITE.roster_size,
            SITE.salary_cap,
            F,
            min_salary=config.field_min_salary,
            rng=rng,
        )
        obj_mh = FieldObjective.build(
            pts_obj, field, table, n_ours=N, prize_cap=config.prize_cap_fees * table.entry_fee
        )
        fee = max(table.entry_fee, 1e-9)
        exact = np.empty((0, SITE.roster_size), dtype=np.int64)
        if config.exact_candidates:
            exact = optimize_lineups(
                slate["projection"].to_numpy(float),
                sal,
                SITE.roster_size,
                SITE.salary_cap,
                k=config.exact_candidates,
                min_salary=config.min_salary,
            ).lineups
        mh = mh_sample(
            lambda L: (
                obj_mh.value(L, config.objective) / (fee if config.objective == "ev" else 1.0)
            ),
            sal,
            SITE.roster_size,
            SITE.salary_cap,
            min_salary=config.min_salary,
            n_chains=config.mh_chains,
            n_temps=config.mh_temps,
            steps=config.mh_steps,
            init=exact[: config.mh_chains] if len(exact) else None,
            rng=rng,
        )
        # field lineups over our salary floor widen the pool so exposure and overlap limits
        # can always be met
        fc = np.unique(field, axis=0)
        fc = fc[sal[fc].sum(axis=1) >= config.min_salary][:3000]
        cands = np.vstack([mh.lineups, exact, fc])
        obj_sel = FieldObjective.build(
            pts_sel, field, table, n_ours=N, prize_cap=config.prize_cap_fees * table.entry_fee
        )
        port = greedy_portfolio(
            obj_sel, cands, N, max_exposure=config.max_exposure, max_overlap=config.max_overlap
        )
        L = port.lineups
        df = _lineup_frame(L, slate, SITE.name)
        df["standalone_ev"] = port.standalone
        df["marginal_gain"] = port.gains
        df["set_ev"] = port.set_value
        df["from_exact_optimizer"] = [
            bool((exact == r).all(axis=1).any()) if len(exact) else False for r in L
        ]
        df["n_objective_scenarios"] = n_obj
        df["n_scenarios_used"] = n_obj + n_sel if S > n_obj else n_obj
        race_key = context.partition_key
        layout = layout_from_env()
        csv_text = draftkings_upload_csv(portfolio_lineups(df))
        layout.write_bytes_atomic(
            layout.extra_path("lineup_portfolio", race_key, "draftkings.csv"), csv_text.encode()
        )
        fd_notes: list[str] = []
        fd_source = "none"
        fd_paths = [
            layout.extra_path("lineup_portfolio", race_key, n)
            for n in ("fanduel.csv", FD_LINEUPS_FILE)
        ]
        if config.fanduel_lineups:
            from nascar_pipeline.core.export import fanduel_upload_csv

            fd_df, fd_notes = fanduel_portfolio(
                race_snapshot,
                race_scenarios,
                config.fanduel_lineups,
                max_exposure=config.max_exposure,
            )
            fd_source = str(fd_df["salary_source"].iloc[0]) if len(fd_df) else "none"
            fd_text, warn = fanduel_upload_csv(fanduel_frame_lineups(fd_df))
            fd_notes += warn
            # the readable lineups (ids, names, FanDuel salaries) for the blocking check
            layout.write_bytes_atomic(fd_paths[1], fd_df.to_csv(index=False).encode())
            layout.write_bytes_atomic(fd_paths[0], fd_text.encode())
        else:
            for path in fd_paths:  # no stale FanDuel lineups from an earlier run
                if layout.exists(path):
                    path.unlink()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.6))
    x = np.arange(1, len(mh.trace_mean) + 1) * 10
    ax.plot(x, mh.trace_mean, label="cold chains (mean)")
    ax.plot(x, mh.trace_best, label="best so far")
    ax.set_xlabel("MH step")
    ax.set_ylabel("objective" + (" (payout / fee)" if config.objective == "ev" else " (P top 1 %)"))
    ax.legend(fontsize=7)
    fig.tight_layout()
    png = _png(fig)
    md = (
        df[
            [
                "lineup_id",
                "d1_name",
                "d2_name",
                "d3_name",
                "d4_name",
                "d5_name",
                "d6_name",
                "salary",
                "projection",
                "standalone_ev",
                "marginal_gain",
            ]
        ]
        .head(10)
        .to_markdown(index=False, floatfmt=".1f")
    )
    return Output(
        df,
        metadata={
            "lineups": len(df),
            "lineups_requested": N,
            "field_size": F,
            "payout_table": table.source,
            "entry_fee": table.entry_fee,
            "objective": config.objective,
            "acceptance_by_temperature": MetadataValue.json(
                {f"beta={b:.3g}": float(a) for b, a in zip(mh.betas, mh.acceptance)}
            ),
            "swap_acceptance": float(mh.swap_acceptance),
            "objective_trace_mean": MetadataValue.json([round(float(v), 5) for v in mh.trace_mean]),
            "objective_trace_best": MetadataValue.json([round(float(v), 5) for v in mh.trace_best]),
            "mcmc_distinct_lineups": int(mh.info["distinct"]),
            "candidates": int(len(cands)),
            "portfolio_expected_payout_capped": float(port.set_value[-1])
            if len(port.set_value)
            else 0.0,
            "prize_cap": float(config.prize_cap_fees * table.entry_fee),
            "upload_csv": f"lineup_portfolio/{race_key}.draftkings.csv",
            "fanduel_upload_csv": (
                f"lineup_portfolio/{race_key}.fanduel.csv" if config.fanduel_lineups else "none"
            ),
            "fanduel_notes": MetadataValue.json(fd_notes),
            "fanduel_salaries": fd_source,
            "lineups_preview": MetadataValue.md(md),
            "objective_trace": MetadataValue.md(f"![trace](data:image/png;base64,{png})"),
        },
    )


def lineup_problems(df: pd.DataFrame, site: rules.Site = SITE) -> list[str]:
    """Every lineup valid for its site: roster size, cap, distinct drivers."""
    cols = [c for c in df.columns if c.startswith("d") and c.endswith("_driver_id")]
    problems = []
    if len(cols) != site.roster_size:
        problems.append(f"{len(cols)} driver columns, {site.name} needs {site.roster_size}")
        return problems
    ids = df[cols].to_numpy()
    sals = df[[c.replace("_driver_id", "_salary") for c in cols]].to_numpy(float)
    for i in range(len(df)):
        if len(set(ids[i].tolist())) != site.roster_size:
            problems.append(f"lineup {i}: repeated driver")
        if sals[i].sum() > site.salary_cap:
            problems.append(f"lineup {i}: salary {sals[i].sum():.0f} over {site.salary_cap}")
        if np.any(sals[i] <= 0):
            problems.append(f"lineup {i}: driver without a salary")
    return problems


def read_fanduel_lineups(layout, race_key: str) -> pd.DataFrame | None:
    """The FanDuel lineups lineup_portfolio wrote beside itself, or None (none produced)."""
    path = layout.extra_path("lineup_portfolio", race_key, FD_LINEUPS_FILE)
    if not layout.exists(path):
        return None
    dtypes = {f"d{j}_fd_id": "string" for j in range(1, rules.FANDUEL.roster_size + 1)}
    return pd.read_csv(io.BytesIO(layout.read_bytes(path)), dtype=dtypes)


@asset_check(
    asset=lineup_portfolio,
    blocking=True,
    partitions_def=races_partitions,
    description="Every lineup valid for its site: DraftKings 6 distinct drivers, salary "
    "<= 50,000; the FanDuel lineups beside it (when produced) 5 distinct "
    "drivers, FanDuel salary <= 50,000, FanDuel ids on a FanDuel slate.",
)
def lineup_portfolio_valid(
    context: AssetCheckExecutionContext, lineup_portfolio: pd.DataFrame
) -> AssetCheckResult:
    from nascar_pipeline.storage.layout import layout_from_env

    problems = lineup_problems(lineup_portfolio)
    fd = read_fanduel_lineups(layout_from_env(), context.partition_key)
    if fd is not None:
        problems += fanduel_problems(fd)
    return AssetCheckResult(
        passed=len(lineup_portfolio) > 0 and not problems,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "lineups": len(lineup_portfolio),
            "fanduel_lineups": -1 if fd is None else len(fd),
            "problems": MetadataValue.json(problems[:20]),
        },
    )


# ----------------------------------------------------------------------------- contest


class ContestConfig(Config):
    field_size: int | None = Field(None, description="default: the contest's (or 10,000)")
    field_min_salary: int = 46_000
    chunk_elems: int = Field(4_000_000, ge=10_000, description="field scores held at once")
    seed: int = 1


@asset(
    partitions_def=races_partitions,
    group_name="dfs",
    io_manager_key="parquet_io_manager",
    code_version="1",
    kinds={"numpy", "parquet"},
    description="The portfolio against a simulated field in every held-out scenario: ROI, cash %, "
    "win %, top-1 %, mean rank and simulated duplicates per lineup; portfolio ROI "
    "distribution in metadata.",
)
def contest_simulation(
    context: AssetExecutionContext,
    config: ContestConfig,
    race_snapshot: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    ownership_projections: pd.DataFrame,
    lineup_portfolio: pd.DataFrame,
) -> Output[pd.DataFrame]:
    from nascar_pipeline.core.contest import generate_field, simulate_contest

    rng = np.random.default_rng(config.seed + FIELD_SEED_OFFSET)
    with asset_span(context):
        slate, points = slate_arrays(race_snapshot, race_scenarios)
        pos = {int(d): i for i, d in enumerate(slate["driver_id"])}
        cols = [f"d{j}_driver_id" for j in range(1, SITE.roster_size + 1)]
        ours = np.vectorize(lambda d: pos[int(d)])(lineup_portfolio[cols].to_numpy())
        own = slate["driver_id"].map(ownership_projections.set_index("driver_id")["own_pct"])
        own = own.fillna(0.0).to_numpy(float)
        F = config.field_size or contest_field_size(race_snapshot)
        table = contest_table(race_snapshot, F + len(ours))
        field = generate_field(
            own,
            slate["salary"].to_numpy(float),
            SITE.roster_size,
            SITE.salary_cap,
            F,
            min_salary=config.field_min_salary,
            rng=rng,
        )
        used = (
            int(lineup_portfolio["n_scenarios_used"].iloc[0])
            if "n_scenarios_used" in lineup_portfolio
            else 0
        )
        S = points.shape[0]
        held_out = S - used >= 1000
        pts = points[used:] if held_out else points
        res = simulate_contest(pts, ours, field, table, chunk_elems=config.chunk_elems)
        summ = res.summary()
    per = summ["per_lineup"]
    out = pd.DataFrame(
        {
            "lineup_id": lineup_portfolio["lineup_id"].to_numpy(np.int64),
            **{k: np.asarray(v, dtype=float) for k, v in per.items()},
        }
    )
    out["sim_duplicates"] = out["sim_duplicates"].astype(np.int64)
    p = summ["portfolio"]
    roi = summ["roi_distribution"]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.6))
    ax.hist(np.clip(roi, -1, np.quantile(roi, 0.99)), bins=60)
    ax.set_xlabel("portfolio ROI per scenario (clipped at p99)")
    ax.set_ylabel("scenarios")
    fig.tight_layout()
    png = _png(fig)
    return Output(
        out,
        metadata={
            "scenarios": int(pts.shape[0]),
            "scenarios_held_out": bool(held_out),
            "field_size": int(F),
            "payout_table": table.source,
            "portfolio": MetadataValue.json(
                {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in p.items()}
            ),
            "portfolio_roi": float(p["roi"]),
            "roi_distribution": MetadataValue.md(f"![ROI](data:image/png;base64,{png})"),
            "lineups_preview": MetadataValue.md(
                out.head(10).to_markdown(index=False, floatfmt=".3f")
            ),
        },
    )


@asset_check(
    asset=contest_simulation,
    blocking=True,
    partitions_def=races_partitions,
    description="Every simulation summary is finite and in range.",
)
def contest_simulation_finite(contest_simulation: pd.DataFrame) -> AssetCheckResult:
    num = contest_simulation.drop(columns=["lineup_id"]).to_numpy(float)
    pct = contest_simulation[["cash_pct", "win_pct", "top1_pct"]].to_numpy(float)
    ok = (
        len(contest_simulation) > 0
        and np.isfinite(num).all()
        and (pct >= 0).all()
        and (pct <= 100).all()
        and (contest_simulation["mean_rank"] >= 1).all()
    )
    return AssetCheckResult(
        passed=bool(ok),
        severity=AssetCheckSeverity.ERROR,
        metadata={"lineups": len(contest_simulation)},
    )


dfs_assets = [ownership_projections, lineup_portfolio, contest_simulation]
dfs_checks = [ownership_totals_valid, lineup_portfolio_valid, contest_simulation_finite]

__all__ = [
    "dfs_assets",
    "dfs_checks",
    "slate_arrays",
    "portfolio_lineups",
    "lineup_problems",
    "fanduel_portfolio",
    "fanduel_problems",
    "read_fanduel_lineups",
]
