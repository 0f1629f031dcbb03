"""The posterior summary of a race-model fit, one row per parameter element (real drivers and
cars only): mean, sd, q05, q50, q95, split R-hat, bulk ESS, labelled with the driver, track type,
car or organisation it belongs to; the fit's draws, chains, divergences and key on every row. Pure."""

from __future__ import annotations

import numpy as np
import pandas as pd


def posterior_summary(posterior: dict, data, diag: dict, fit_key: str, names: dict) -> pd.DataFrame:
    """One row per parameter element (real drivers / cars only)."""
    from nascar_pipeline.core.model.data import TRACK_TYPES
    from nascar_pipeline.core.model.diagnostics import rhat_and_ess

    rows = []
    for site, x in posterior.items():
        x = np.asarray(x, np.float64)  # (chains, draws, ...)
        if site in ("skill", "skill_track"):
            x = x[:, :, : data.n_drivers]
        elif site == "car_effect":
            x = x[:, :, : len(data.car_numbers)]
        elif site == "org_effect":  # real organisations only (ModelConfig.team_effect)
            x = x[:, :, : len(getattr(data, "org_names", []))]
        shape = x.shape[2:]
        flat = x.reshape(x.shape[0], x.shape[1], -1)
        rhat, ess = rhat_and_ess(flat)  # as the gate reads them
        pooled = flat.reshape(-1, flat.shape[2])
        q = np.quantile(pooled, [0.05, 0.5, 0.95], axis=0)
        for j, idx in enumerate(np.ndindex(*shape) if shape else [()]):
            r = {
                "param": site,
                "index": j,
                "driver_id": pd.NA,
                "driver_name": pd.NA,
                "track_type": pd.NA,
                "car_number": pd.NA,
                "organisation": pd.NA,
            }
            if site in ("skill", "skill_track"):
                did = int(data.driver_ids[idx[0]])
                r.update(driver_id=did, driver_name=names.get(did))
                if site == "skill_track":
                    r["track_type"] = TRACK_TYPES[idx[1]]
            elif site == "car_effect":
                r["car_number"] = data.car_numbers[idx[0]]
            elif site == "org_effect":  # ModelConfig.team_effect: the normalised team name
                r["organisation"] = data.org_names[idx[0]]
            elif site in ("start_effect", "dnf_base", "led_base", "fast_base"):
                r["track_type"] = TRACK_TYPES[idx[0]]
            elif site == "log_scale_other":
                r["track_type"] = [t for t in TRACK_TYPES if t != "intermediate"][idx[0]]
            r.update(
                mean=pooled[:, j].mean(),
                sd=pooled[:, j].std(),
                q05=q[0, j],
                q50=q[1, j],
                q95=q[2, j],
                rhat=float(rhat[j]),
                ess_bulk=float(ess[j]),
            )
            rows.append(r)
    df = pd.DataFrame(rows)
    df["driver_id"] = df["driver_id"].astype("Int64")
    for c in ("driver_name", "track_type", "car_number", "organisation", "param"):
        df[c] = df[c].astype("string")
    df["draws"] = int(diag["draws"])
    df["chains"] = int(diag["chains"])
    df["divergences"] = int(diag["divergences"])
    df["fit_key"] = fit_key
    return df
