"""Fit the field-ownership share model to real %Drafted. Pure numpy/scipy; no I/O.

Each past race is one multinomial observation of how the field split its picks: the observed
shares q_i = own_i / sum(own) (600 % on DraftKings) against the model's p_i = softmax(x_i . beta).
The fit maximizes sum over races of sum_i q_i log p_i, with an L2 pull of beta toward the prior
(the defaults) of strength `ridge` (about one race's worth at 1.0), so features a training set
cannot inform (odds never given, say) keep their prior. When the training races carry a vendor's
ownership, the blend weight is then chosen on a grid by the mean absolute error of the final
ownership (bounds included).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nascar_pipeline.core.ownership_features import FIELD_FEATURES, field_features
from nascar_pipeline.core.ownership_model import (
    DEFAULT_FIELD_MODEL,
    FieldOwnershipModel,
    project_field_ownership,
    vendor_pct,
)

TrainingRace = tuple[pd.DataFrame, np.ndarray]  # (slate, observed ownership pct per driver)
VENDOR_WEIGHT_GRID = tuple(np.round(np.linspace(0.0, 1.0, 21), 2))


def _usable(races: Sequence[TrainingRace], min_drivers: int) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for slate, own in races:
        y = np.asarray(own, dtype=float)
        ok = np.isfinite(y) & (y >= 0)
        if ok.sum() < min_drivers or y[ok].sum() <= 0:
            continue
        X = field_features(slate.reset_index(drop=True))[ok]
        out.append((X, y[ok] / y[ok].sum()))
    return out


def fit_share_coefs(
    races: Sequence[TrainingRace],
    *,
    ridge: float = 1.0,
    prior: FieldOwnershipModel = DEFAULT_FIELD_MODEL,
    min_drivers: int = 10,
) -> tuple[dict[str, float], int]:
    """Maximum-likelihood (L2-regularized) coefficients; returns (coefs, races used)."""
    from scipy.optimize import minimize

    data = _usable(races, min_drivers)
    b0 = prior.beta()
    if not data:
        return dict(zip(FIELD_FEATURES, b0.tolist())), 0

    def loss_grad(b):
        loss = ridge * np.sum((b - b0) ** 2)
        grad = 2.0 * ridge * (b - b0)
        for X, q in data:
            eta = X @ b
            eta = eta - eta.max()
            logp = eta - np.log(np.exp(eta).sum())
            loss -= q @ logp
            grad -= X.T @ (q - np.exp(logp))
        return loss, grad

    res = minimize(loss_grad, b0, jac=True, method="L-BFGS-B")
    return dict(zip(FIELD_FEATURES, [float(v) for v in res.x])), len(data)


def ownership_mae(pred, actual, top: int | None = None) -> float:
    """Mean absolute error in ownership points; with `top`, over the `top` most-owned drivers
    in `actual` (the ones a contest turns on)."""
    p = np.asarray(pred, float)
    a = np.asarray(actual, float)
    ok = np.isfinite(p) & np.isfinite(a)
    p, a = p[ok], a[ok]
    if top is not None:
        idx = np.argsort(-a, kind="stable")[:top]
        p, a = p[idx], a[idx]
    return float(np.mean(np.abs(p - a))) if a.size else float("nan")


def fit_field_model(
    races: Sequence[TrainingRace],
    *,
    ridge: float = 1.0,
    prior: FieldOwnershipModel = DEFAULT_FIELD_MODEL,
    roster_size: int = 6,
    min_drivers: int = 10,
) -> FieldOwnershipModel:
    """Fit the share model (and the vendor blend weight when the races carry a vendor's
    ownership) to real %Drafted. races: (slate, %Drafted per slate driver) pairs."""
    coefs, used = fit_share_coefs(races, ridge=ridge, prior=prior, min_drivers=min_drivers)
    total = 100.0 * roster_size
    model = FieldOwnershipModel(coefs, prior.vendor_weight, f"fitted on {used} races")
    with_vendor = [(s, y) for s, y in races if vendor_pct(s, total) is not None]
    if used and with_vendor:
        best = None
        for w in VENDOR_WEIGHT_GRID:
            m = FieldOwnershipModel(coefs, float(w), model.source)
            err = np.mean(
                [
                    ownership_mae(
                        project_field_ownership(s, m, roster_size=roster_size).frame["own_pct"], y
                    )
                    for s, y in with_vendor
                ]
            )
            if best is None or err < best[0] - 1e-9:
                best = (err, float(w))
        model = FieldOwnershipModel(
            coefs, best[1], f"fitted on {used} races (vendor weight on {len(with_vendor)})"
        )
    return model
