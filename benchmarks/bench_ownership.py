"""Ownership validation on the six real DraftKings slates (../shared/data/draftkings/slates_2026.csv):
our projected ownership against the vendor's projected ownership (`proj_own`), MAE (percentage
points) and Spearman rank correlation per slate.

Inputs per slate: salary and the vendor's `proj_points` as the projection (no starting positions or
recent form in the file: those features are neutral). Scenarios for the simulated-optimal rate are a
stand-in for race_scenarios: points ~ Normal(proj, 0.6 * proj + 5), 2,000 per slate, seed 0.
Rows: `model` (feature model, stated default coefficients), `optimal` (simulated-optimal rate),
`blend` (the shipped default: 0.7 model + 0.3 optimal), and `blend-loso` (model coefficients fitted
on the other five slates' ownership, leave-one-slate-out, then blended; shows the fitting path).

Run: .venv/bin/python benchmarks/bench_ownership.py
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from nascar_pipeline.core.ownership import (
    DEFAULT_BLEND,
    feature_matrix,
    fit_ownership_model,
    project_ownership,
    spearman,
)

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NASCAR_SHARED_DATA", REPO.parent / "shared" / "data"))


def main() -> int:
    df = pd.read_csv(DATA / "draftkings" / "slates_2026.csv")
    slates = {s: g.reset_index(drop=True) for s, g in df.groupby("slate", sort=True)}
    feats = {
        s: (feature_matrix(g.salary.values, g.proj_points.values), g.proj_own.values.astype(float))
        for s, g in slates.items()
    }
    rows = []
    for s, g in slates.items():
        sal, proj, act = g.salary.values, g.proj_points.values.astype(float), g.proj_own.values
        rng = np.random.default_rng(0)
        pts = proj[None, :] + rng.normal(0, 1, (2000, proj.size)) * (0.6 * proj + 5)[None, :]
        base = project_ownership(sal, proj, 6, 50_000, points=pts)
        coefs = fit_ownership_model([v for k, v in feats.items() if k != s])
        loso = project_ownership(sal, proj, 6, 50_000, points=pts, coefs=coefs)
        assert abs(base.ownership.sum() - 600) < 1e-6 and base.ownership.max() <= 100 + 1e-9
        for name, est in (
            ("model", base.model),
            ("optimal", base.optimal),
            ("blend", base.ownership),
            ("blend-loso", loso.ownership),
        ):
            rows.append(
                {
                    "slate": s,
                    "drivers": len(g),
                    "estimator": name,
                    "mae": np.abs(est - act).mean(),
                    "spearman": spearman(est, act),
                }
            )
    t = pd.DataFrame(rows)
    wide = t.pivot_table(
        index=["slate", "drivers"], columns="estimator", values=["mae", "spearman"]
    )
    wide = wide.reindex(
        columns=pd.MultiIndex.from_product(
            [["mae", "spearman"], ["model", "optimal", "blend", "blend-loso"]]
        )
    )
    pd.set_option("display.width", 200)
    print(f"default blend weight {DEFAULT_BLEND}; MAE in percentage points of ownership\n")
    print(wide.round(3).to_string())
    print("\nmean over slates:")
    print(
        t.groupby("estimator")[["mae", "spearman"]]
        .mean()
        .reindex(["model", "optimal", "blend", "blend-loso"])
        .round(3)
        .to_string()
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
