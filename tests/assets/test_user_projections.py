"""The player's own numbers through Dagster: a snapshot with user projections moves
race_scenarios and driver_projections toward the blend (ESS and the per-driver table in the
metadata; every scenario still a valid race), weight 0 is bit-identical to a race without
numbers, and user ownership is blended into ownership_projections. The model fit is a fixed
posterior in the fit cache (no MCMC here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dagster import AssetSelection, ResourceDefinition

from nascar_pipeline.assets.model import model_assets
from nascar_pipeline.assets.ownership import ownership_projections
from nascar_pipeline.assets.snapshot import race_snapshot
from nascar_pipeline.core.scenario_checks import scenario_frame_sanity
from nascar_pipeline.core.snapshot import SNAPSHOT_COLUMNS
from nascar_pipeline.resources.storage import StorageResource, storage_resources
from nascar_pipeline.storage.layout import StorageLayout
from tests.core.test_model_scenarios import _fake_posterior
from tests.support import dfs_assets
from tests.support.races import materialize_race
from tests.support.synthetic_history import synthetic_history

RACE = "2024-synth-target-400"
FIT_KEY = "fixed-posterior-for-user-numbers"
S = 1500


def _snapshot(user: dict[int, float] | None) -> pd.DataFrame:
    hist, _ = synthetic_history(n_drivers=20, n_races=12, seed=2)
    last = hist[hist["race_key"] == hist["race_key"].iloc[-1]]
    e = last[["driver_id", "driver_name", "car_number", "start_position"]].copy()
    e = e.assign(
        role="entry",
        race_key=RACE,
        race_date="2024-06-01",
        season=2024,
        track_type="short",
        track_name="Track 2",
        scheduled_laps=250,
        salary=np.linspace(11000, 5000, len(e)).round(-2).astype(int),
        dk_id=np.arange(len(e)) + 5000,
    )
    if user:
        e["user_proj_points"] = e["driver_id"].map(user)
    h = hist.assign(role="history")
    df = pd.concat([e, h], ignore_index=True)
    out = pd.DataFrame(index=range(len(df)))
    for col, dtype in SNAPSHOT_COLUMNS.items():
        out[col] = (df[col] if col in df.columns else pd.Series([pd.NA] * len(df))).astype(dtype)
    return out


def _write_upstream(root, snapshot: pd.DataFrame) -> StorageLayout:
    from nascar_pipeline.core.model import ModelConfig, prepare_history

    entries = snapshot[snapshot["role"] == "entry"]
    history = snapshot[snapshot["role"] == "history"]
    data = prepare_history(history, ModelConfig(), target_date=str(entries["race_date"].iloc[0]))
    posterior = {k: v[None] for k, v in _fake_posterior(data, n_draws=16).items()}  # 1 chain
    StorageResource(root=str(root)).fit_cache().save(FIT_KEY, posterior, {"fit_key": FIT_KEY})
    layout = StorageLayout(root)
    fit = pd.DataFrame({"fit_key": [FIT_KEY], "stale_model": [False], "stale_from": [""]})
    layout.write_parquet(layout.asset_path("race_snapshot", RACE), snapshot)
    layout.write_parquet(layout.asset_path("race_model_fit", RACE), fit)
    return layout


def _run(root, snapshot, **scenario_config):
    layout = _write_upstream(root, snapshot)
    result = materialize_race(
        [race_snapshot, *model_assets],
        RACE,
        {**storage_resources(str(root)), "race_source": ResourceDefinition.none_resource()},
        selection=AssetSelection.assets("race_scenarios", "driver_projections"),
        run_config={
            "ops": {"race_scenarios": {"config": {"scenarios": S, "seed": 1, **scenario_config}}}
        },
    )
    assert result.success
    meta = {
        name: {k: v.value for k, v in m.metadata.items()}
        for name in ("race_scenarios", "driver_projections")
        for m in result.asset_materializations_for_node(name)
    }
    return layout, meta


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    root = tmp_path_factory.mktemp("plain")
    layout, meta = _run(root, _snapshot(None))
    return root, layout, meta


def _user_numbers(layout) -> dict[int, float]:
    """A vendor-like file: the favourite and a back-marker swapped around, on a larger scale."""
    proj = layout.read_asset("driver_projections", RACE).set_index("driver_id")["dk_mean"]
    user = (proj * 1.3).to_dict()
    top, low = proj.index[0], proj.index[-3]
    user[top], user[low] = proj[top] * 1.3 - 12, proj[low] * 1.3 + 12
    return {int(k): float(v) for k, v in user.items()}


def test_user_projections_move_scenarios_and_projections(plain, tmp_path):
    _, before_layout, plain_meta = plain
    assert plain_meta["race_scenarios"]["user_projections"] is False
    user = _user_numbers(before_layout)
    layout, meta = _run(tmp_path, _snapshot(user))
    before = before_layout.read_asset("driver_projections", RACE).set_index("driver_id")
    after = layout.read_asset("driver_projections", RACE).set_index("driver_id")
    top, low = before.index[0], before.index[-3]
    # the blend at 0.5 moves the favourite down and the back-marker up (about 6 points each,
    # after the user's numbers are scaled back to what a race can score)
    assert after.loc[top, "dk_mean"] < before.loc[top, "dk_mean"] - 3
    assert after.loc[low, "dk_mean"] > before.loc[low, "dk_mean"] + 3
    sm = meta["race_scenarios"]
    assert sm["user_projections"] is True and sm["user_blend_weight"] == 0.5
    assert sm["user_scale"] == pytest.approx(1 / 1.3, rel=0.01)
    assert sm["user_reached"] == 1.0 and sm["user_ess"] > 0.1 * S
    rows = {r["driver_id"]: r for r in sm["user_blend"]}
    assert rows[int(top)]["user_mean"] == pytest.approx(user[top], abs=0.01)
    assert rows[int(top)]["blended_mean"] == pytest.approx(after.loc[top, "dk_mean"], abs=0.01)
    assert "model_mean" in sm["user_blend_top"] and "blended_mean" in sm["user_blend_top"]
    # driver_projections shows the same blend (from race_scenarios' materialization)
    pm = meta["driver_projections"]
    assert pm["user_projections"] is True and pm["user_ess"] == sm["user_ess"]
    # every scenario still a valid race
    ok, details = scenario_frame_sanity(layout.read_asset("race_scenarios", RACE))
    assert ok, details


def test_weight_zero_is_bit_identical_to_no_numbers(plain, tmp_path):
    root, before_layout, _ = plain
    layout, meta = _run(tmp_path, _snapshot(_user_numbers(before_layout)),
                        user_projection_weight=0.0)  # fmt: skip
    for name in ("race_scenarios", "driver_projections"):
        a = (root / name / f"{RACE}.parquet").read_bytes()
        b = (tmp_path / name / f"{RACE}.parquet").read_bytes()
        pd.testing.assert_frame_equal(
            before_layout.read_asset(name, RACE), layout.read_asset(name, RACE)
        )
        assert a == b, name
    assert meta["race_scenarios"]["user_reached"] == 0.0
    assert "untouched" in meta["race_scenarios"]["user_blend_note"]


def test_user_ownership_is_blended(tmp_path):
    layout = dfs_assets.write_upstream(tmp_path)
    snap = layout.read_asset("race_snapshot", dfs_assets.RACE)
    entry = snap["role"] == "entry"
    # the player's ownership: everything on the five cheapest drivers
    cheap = snap[entry].nsmallest(5, "salary")["driver_id"]
    snap["user_own_pct"] = pd.Series(pd.NA, index=snap.index, dtype="Float64")
    snap.loc[entry, "user_own_pct"] = np.where(snap.loc[entry, "driver_id"].isin(cheap), 60.0, 0.5)
    layout.write_parquet(layout.asset_path("race_snapshot", dfs_assets.RACE), snap)

    def own(weight):
        cfg = {} if weight is None else {"user_ownership_weight": weight}
        result = materialize_race(
            [race_snapshot, *model_assets, ownership_projections],
            dfs_assets.RACE,
            {
                **storage_resources(str(tmp_path)),
                "race_source": ResourceDefinition.none_resource(),
            },
            selection=AssetSelection.assets(ownership_projections),
            run_config={"ops": {"ownership_projections": {"config": cfg}}},
        )
        assert result.success
        (m,) = result.asset_materializations_for_node("ownership_projections")
        out = layout.read_asset("ownership_projections", dfs_assets.RACE)
        return out.set_index("driver_id"), {k: v.value for k, v in m.metadata.items()}

    model_only, m0 = own(0.0)
    default, md = own(None)
    assert md["user_ownership"] is True and md["user_ownership_weight"] == 0.5
    assert "blended %" in md["user_ownership_top"]
    gain = default.loc[cheap, "own_pct"].sum() - model_only.loc[cheap, "own_pct"].sum()
    assert gain > 20  # the player's ownership pulls the cheap drivers up (bounded by tier)
    assert default["own_vendor_pct"].notna().all()
    np.testing.assert_allclose(default["own_pct"].sum(), 600.0)
