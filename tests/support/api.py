"""Shared data and helpers for the API tests (no tests here).

Data: the embedded demo world (one season plus the upcoming race), seeded to a temp folder;
`race_snapshot` of two races materialized by the REAL pipeline (dagster.materialize with the
definitions' assets and the Parquet IO manager) into a local folder or a bucket on moto's S3.
The downstream assets that the pipeline does not materialize yet (model fit, scenarios,
projections, ownership, portfolio + upload CSVs, contest simulation, backtest) are written for
the upcoming race through StorageLayout + manifest entries, in their documented schemas, from
the real snapshot's entry list. The past race keeps only its snapshot (for "missing asset").
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
import numpy as np
import pandas as pd

JWT_SECRET = "test-secret-0123456789-abcdefghijklmnop"
AUDIENCE = "nascar-pipeline-api"
ISSUER = "https://auth.test.local/"
WRITTEN_RUN_ID = "written-by-test"


@dataclass
class Materialized:
    root: str  # storage root (folder or s3://bucket/prefix)
    upcoming: str  # race with every asset
    past: str  # race with race_snapshot only
    snapshot_run_id: str  # the Dagster run that materialized the upcoming race's snapshot


def make_token(
    sub: str = "tester",
    *,
    secret: str = JWT_SECRET,
    aud=AUDIENCE,
    iss=ISSUER,
    exp_in: float = 600,
    alg: str = "HS256",
    extra: dict | None = None,
    drop: tuple[str, ...] = (),
) -> str:
    claims = {
        "sub": sub,
        "aud": aud,
        "iss": iss,
        "exp": int(time.time() + exp_in),
        "iat": int(time.time()),
    }
    claims.update(extra or {})
    for k in drop:
        claims.pop(k, None)
    return jwt.encode(claims, secret, algorithm=alg)


def auth(token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or make_token()}"}


# ---- the world and the real pipeline -------------------------------------------------------
def seed_world(folder, seed: int = 11) -> tuple[str, str]:
    """Write a one-season demo world; returns (upcoming race key, a past race key)."""
    from nascar_pipeline.sources.demo_world import generate_world
    from nascar_pipeline.sources.embedded import write_world

    tables = generate_world(seed=seed, seasons=1, upcoming=True)
    write_world(tables, folder)
    races = tables.races.sort_values("race_date")
    upcoming = str(races[races["status"] == "scheduled"]["race_key"].iloc[-1])
    past = str(races[races["status"] != "scheduled"]["race_key"].iloc[-1])
    return upcoming, past


def materialize_snapshot(world_dir: str, storage_root: str, race_key: str) -> str:
    """Materialize race_snapshot (and its blocking checks) for one race; returns the run id."""
    from dagster import AssetKey, DagsterInstance, materialize

    from nascar_pipeline.definitions import race_assets, race_checks
    from nascar_pipeline.resources.race_source import EmbeddedWorldResource
    from nascar_pipeline.resources.storage import storage_resources

    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("races", [race_key])
    result = materialize(
        [*race_assets, *race_checks],
        selection=[AssetKey("race_snapshot")],
        partition_key=race_key,
        resources={
            "race_source": EmbeddedWorldResource(world_dir=world_dir),
            **storage_resources(storage_root),
        },
        instance=instance,
    )
    assert result.success
    return result.run_id


def record_asset(
    layout, asset: str, race_key: str, df: pd.DataFrame, extras: dict[str, bytes] | None = None
):
    path = layout.asset_path(asset, race_key)
    rel = {}
    for name, data in (extras or {}).items():
        p = layout.extra_path(asset, race_key, name)
        layout.write_bytes_atomic(p, data)
        rel[name] = layout.relative(p)
    data, schema = layout.write_parquet(path, df)
    return layout.record(
        asset=asset,
        race_key=race_key,
        path=path,
        data=data,
        schema=schema,
        rows=len(df),
        run_id=WRITTEN_RUN_ID,
        code_version="test-1",
        extra_files=rel,
    )


def write_downstream(layout, race_key: str, n_scenarios: int = 400, n_lineups: int = 20) -> None:
    """The later assets of one race, in their documented schemas, from its real snapshot."""
    snap = layout.read_asset("race_snapshot", race_key)
    e = snap[snap["role"] == "entry"].reset_index(drop=True)
    n = len(e)
    rng = np.random.default_rng(5)
    ids = e["driver_id"].astype("int64").to_numpy()

    record_asset(
        layout,
        "race_model_fit",
        race_key,
        pd.DataFrame(
            {
                "driver_id": ids,
                "skill_mean": rng.normal(size=n),
                "skill_sd": rng.uniform(0.1, 0.3, n),
                "r_hat": rng.uniform(0.99, 1.01, n),
            }
        ),
    )

    # race_scenarios: the long table
    finish = np.stack([rng.permutation(n) + 1 for _ in range(n_scenarios)])
    dnf = rng.random((n_scenarios, n)) < 0.1
    led = rng.integers(0, 30, (n_scenarios, n))
    fast = rng.integers(0, 20, (n_scenarios, n))
    start = e["start_position"].fillna(0).astype("int16").to_numpy()
    dk = (45 - finish + (start - finish) + 0.25 * led + 0.45 * fast).astype("float32")
    fd = (dk * 1.1).astype("float32")
    sc = pd.DataFrame(
        {
            "scenario": np.repeat(np.arange(n_scenarios, dtype="int32"), n),
            "driver_id": np.tile(ids, n_scenarios),
            "start_position": np.tile(start, n_scenarios).astype("int16"),
            "finish_position": finish.ravel().astype("int16"),
            "dnf": dnf.ravel(),
            "laps_completed": np.full(n * n_scenarios, 200, dtype="int16"),
            "laps_led": led.ravel().astype("int16"),
            "fastest_laps": fast.ravel().astype("int16"),
            "dk_points": dk.ravel(),
            "fd_points": fd.ravel(),
        }
    )
    record_asset(layout, "race_scenarios", race_key, sc)

    g = sc.groupby("driver_id")["dk_points"]
    q = g.quantile([0.1, 0.25, 0.5, 0.75, 0.9]).unstack()
    proj = pd.DataFrame(
        {
            "driver_id": ids,
            "driver_name": e["driver_name"].astype(str),
            "salary": e["salary"].astype("int64"),
            "dk_id": e["dk_id"].astype("int64"),
            "start_position": e["start_position"].astype("int64"),
            "dk_mean": g.mean().loc[ids].to_numpy(),
            "dk_median": q[0.5].loc[ids].to_numpy(),
            "dk_sd": g.std().loc[ids].to_numpy(),
            "dk_p10": q[0.1].loc[ids].to_numpy(),
            "dk_p25": q[0.25].loc[ids].to_numpy(),
            "dk_p75": q[0.75].loc[ids].to_numpy(),
            "dk_p90": q[0.9].loc[ids].to_numpy(),
            "fd_mean": sc.groupby("driver_id")["fd_points"].mean().loc[ids].to_numpy(),
            "win_pct": rng.uniform(0, 10, n),
            "top5_pct": rng.uniform(0, 30, n),
            "top10_pct": rng.uniform(0, 50, n),
            "dnf_pct": rng.uniform(5, 15, n),
            "exp_laps_led": rng.uniform(0, 30, n),
            "exp_fastest_laps": rng.uniform(0, 20, n),
        }
    )
    proj["pts_per_1k"] = proj["dk_mean"] / (proj["salary"] / 1000)
    record_asset(layout, "driver_projections", race_key, proj)

    record_asset(
        layout,
        "ownership_projections",
        race_key,
        pd.DataFrame(
            {
                "driver_id": ids,
                "driver_name": e["driver_name"].astype(str),
                "salary": e["salary"].astype("int64"),
                "dk_own_pct": rng.uniform(1, 40, n),
            }
        ),
    )

    rows = []
    for lid in range(n_lineups):
        for slot, d in enumerate(rng.choice(n, 6, replace=False)):
            rows.append(
                {
                    "lineup_id": lid,
                    "slot": slot,
                    "driver_id": int(ids[d]),
                    "driver_name": str(e.loc[d, "driver_name"]),
                    "dk_id": int(e.loc[d, "dk_id"]),
                    "salary": int(e.loc[d, "salary"]),
                }
            )
    port = pd.DataFrame(rows)
    dk_csv = (
        "D,D,D,D,D,D\n"
        + "\n".join(",".join(str(x) for x in grp["dk_id"]) for _, grp in port.groupby("lineup_id"))
        + "\n"
    )
    fd_csv = "D,D,D,D,D\n" + "\n".join(
        ",".join(str(x) for x in grp["driver_id"][:5]) for _, grp in port.groupby("lineup_id")
    )
    record_asset(
        layout,
        "lineup_portfolio",
        race_key,
        port,
        extras={"draftkings.csv": dk_csv.encode(), "fanduel.csv": fd_csv.encode()},
    )

    record_asset(
        layout,
        "contest_simulation",
        race_key,
        pd.DataFrame(
            {
                "lineup_id": np.arange(n_lineups),
                "mean_payout": rng.uniform(0, 60, n_lineups),
                "roi": rng.uniform(-1, 2, n_lineups),
                "cash_pct": rng.uniform(0, 40, n_lineups),
                "win_pct": rng.uniform(0, 1, n_lineups),
                "top1_pct": rng.uniform(0, 3, n_lineups),
                "mean_rank": rng.uniform(1, 5000, n_lineups),
                "sim_duplicates": rng.integers(0, 4, n_lineups),
            }
        ),
    )

    record_asset(
        layout,
        "race_backtest",
        race_key,
        pd.DataFrame(
            {
                "driver_id": ids,
                "dk_projected": proj["dk_mean"],
                "dk_actual": rng.uniform(0, 80, n),
                "abs_error": rng.uniform(0, 30, n),
            }
        ),
    )


def build_storage(world_dir: str, root: str, upcoming: str, past: str) -> Materialized:
    from nascar_pipeline.storage.layout import StorageLayout

    run_id = materialize_snapshot(world_dir, root, upcoming)
    materialize_snapshot(world_dir, root, past)
    write_downstream(StorageLayout(root), upcoming)
    return Materialized(root=root, upcoming=upcoming, past=past, snapshot_run_id=run_id)


def api_settings(root: str, **over):
    from api.settings import ApiSettings

    kw = dict(
        storage_root=root,
        jwt_secret=JWT_SECRET,
        jwt_audience=AUDIENCE,
        jwt_issuer=ISSUER,
        rate_limit="100000/minute",
        # tests send many refused credentials on purpose; the failed-login budget has its own
        failed_auth_limit="100000/minute",
        manifest_ttl_s=0.0,
    )
    kw.update(over)
    return ApiSettings(**kw)


# ---- fixtures (import them into a test module by name) ------------------------------------
