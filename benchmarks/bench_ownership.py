"""Ownership on the six real DraftKings slates (../shared/data/draftkings/slates_2026.csv): today's
model against the field-ownership model, both scored against the vendor's projected ownership
(`proj_own`, the stand-in for the real field's %Drafted: no real standings are on hand).

    .venv/bin/python benchmarks/bench_ownership.py

Inputs per slate, the same for every estimator: real DK salaries, the vendor's `proj_points` as the
projection; recent form (mean DK points) and recent average finish over each driver's last five
races in ../shared/data/history (and the Sonoma 2026 race week for the slates after it), matched by
name; Sonoma's real grid as start positions (the other slates have none). The field model also
reads each driver's price and ownership at the previous slate in the file (the weeks follow one
another; the vendor's ownership stands in for the previous week's %Drafted).

Estimators:
- today-model: core/ownership.py's feature model, stated default coefficients;
- today-blend: what the pipeline ships: 0.7 x that model + 0.3 x the simulated-optimal rate, over
  2,000 scenarios points ~ Normal(proj, 0.6 proj + 5), seed 0 (stand-in for race_scenarios);
- new-default: core/ownership_model.py with the shipped DEFAULT_FIELD_MODEL (its temperature was
  set on these six slates: an in-sample figure);
- new-loso: the field model fitted (ownership_fit.fit_field_model) on the other five slates,
  leave-one-slate-out: the out-of-sample figure.
Figures: MAE in ownership points over all drivers and over the vendor's 10 most-owned (the drivers
a contest turns on), the highest ownership, the implied average field lineup salary, the warnings
the field model raised, and the five most-owned drivers per slate for the vendor and each model.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from nascar_pipeline.core import rules
from nascar_pipeline.core.ownership import project_ownership
from nascar_pipeline.core.ownership_fit import fit_field_model, ownership_mae
from nascar_pipeline.core.ownership_model import implied_lineup_salary, project_field_ownership
from nascar_pipeline.ontology.parsers.names import name_key

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NASCAR_SHARED_DATA", REPO.parent / "shared" / "data"))
ESTIMATORS = ("today-model", "today-blend", "new-default", "new-loso")


def history() -> pd.DataFrame:
    """Results with DK points and race dates: history/ plus the Sonoma 2026 race week."""
    parts = []
    for folder in ("history", "raceweek_2026_sonoma"):
        races = pd.read_csv(DATA / folder / "races.csv")
        res = pd.read_csv(DATA / folder / "results.csv")
        parts.append(res.merge(races[["race_id", "race_date"]], on="race_id"))
    h = pd.concat(parts, ignore_index=True).sort_values(["race_date", "race_id"])
    h["dk_pts"] = rules.draftkings_points(
        h["start_position"].astype(int),
        h["finish_position"].astype(int),
        h["laps_led"].fillna(0).astype(int),
        h["fastest_laps"].fillna(0).astype(int),
    )
    h["key"] = h["driver_name"].map(name_key)
    return h


def slates_with_inputs() -> list[tuple[str, pd.DataFrame]]:
    df = pd.read_csv(DATA / "draftkings" / "slates_2026.csv")
    df = df.rename(columns={"name": "driver_name", "proj_points": "projection"})
    df["key"] = df["driver_name"].map(name_key)
    h = history()
    sonoma = pd.read_csv(DATA / "raceweek_2026_sonoma" / "results.csv")
    grid = dict(zip(sonoma["driver_name"].map(name_key), sonoma["start_position"]))
    out, prev = [], None
    for slate, g in df.groupby("slate", sort=True):
        g = g.reset_index(drop=True)
        date = slate.split("__")[0]
        recent = h[h["race_date"] < date].groupby("key").tail(5).groupby("key")
        g["recent_dk_points"] = g["key"].map(recent["dk_pts"].mean())
        g["recent_finish"] = g["key"].map(recent["finish_position"].mean())
        if "sonoma" in slate:
            g["start_position"] = g["key"].map(grid)
        if prev is not None:
            p = prev.set_index("key")
            g["prev_salary"] = g["key"].map(p["salary"])
            g["prev_own_pct"] = g["key"].map(p["proj_own"])
        out.append((slate, g))
        prev = g
    return out


def top5(names, own) -> str:
    idx = np.argsort(-np.asarray(own), kind="stable")[:5]
    return ", ".join(f"{names[i]} {own[i]:.0f}" for i in idx)


def main() -> int:
    slates = slates_with_inputs()
    training = [(g.drop(columns="proj_own"), g["proj_own"].to_numpy(float)) for _, g in slates]
    rows, tops = [], []
    for k, (slate, g) in enumerate(slates):
        actual = g["proj_own"].to_numpy(float)
        sal, proj = g["salary"].to_numpy(float), g["projection"].to_numpy(float)
        start = g["start_position"].to_numpy(float) if "start_position" in g else None
        rng = np.random.default_rng(0)
        pts = proj[None, :] + rng.normal(0, 1, (2000, proj.size)) * (0.6 * proj + 5)[None, :]
        today = project_ownership(
            sal, proj, 6, 50_000, start_position=start, form=g["recent_dk_points"], points=pts
        )
        inputs = g.drop(columns="proj_own")
        new = project_field_ownership(inputs)
        loso_model = fit_field_model([t for j, t in enumerate(training) if j != k])
        loso = project_field_ownership(inputs, loso_model)
        est = {
            "today-model": today.model,
            "today-blend": today.ownership,
            "new-default": new.frame["own_pct"].to_numpy(),
            "new-loso": loso.frame["own_pct"].to_numpy(),
        }
        for name, own in est.items():
            assert abs(own.sum() - 600) < 1e-6
            rows.append(
                {
                    "slate": slate.split("__")[1][:28],
                    "estimator": name,
                    "mae": ownership_mae(own, actual),
                    "mae_top10": ownership_mae(own, actual, top=10),
                    "max_own": own.max(),
                    "field_salary": implied_lineup_salary(own, sal),
                    "warnings": len(new.warnings if name == "new-default" else loso.warnings)
                    if name.startswith("new")
                    else np.nan,
                }
            )
        names = g["driver_name"].to_numpy()
        tops.append((slate, top5(names, actual), {n: top5(names, o) for n, o in est.items()}))
        tops[-1][2]["reasons"] = "; ".join(
            f"{r.driver_name}: {r.reasons}"
            for r in loso.frame.sort_values("own_pct", ascending=False).head(2).itertuples()
        )
    t = pd.DataFrame(rows)
    pd.set_option("display.width", 220)
    print("MAE in ownership points against the vendor's projected ownership (stand-in for real")
    print("%Drafted); mae_top10 over the vendor's 10 most-owned drivers per slate.\n")
    for metric in ("mae", "mae_top10", "max_own", "field_salary"):
        wide = t.pivot_table(index="slate", columns="estimator", values=metric, sort=False)
        print(f"{metric}:")
        print(wide[list(ESTIMATORS)].round(1 if metric != "field_salary" else 0).to_string())
        print()
    print("mean over the six slates:")
    print(
        t.groupby("estimator")[["mae", "mae_top10", "max_own", "field_salary", "warnings"]]
        .mean()
        .reindex(list(ESTIMATORS))
        .round(2)
        .to_string()
    )
    print("\nfive most-owned drivers per slate (ownership %):")
    for slate, vendor, by in tops:
        print(f"\n{slate}\n  {'vendor':12s} {vendor}")
        for name in ESTIMATORS:
            print(f"  {name:12s} {by[name]}")
        print(f"  {'why (loso)':12s} {by['reasons']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
