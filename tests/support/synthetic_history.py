"""A small synthetic NASCAR world drawn from the race model's own generative story
(core/race_story.py) with known truth, for the model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nascar_pipeline.core import race_story as story
from nascar_pipeline.core.tables import TRACK_TYPES


def synthetic_history(
    n_drivers=20,
    n_races=40,
    seed=0,
    laps=200,
    form_sd=0.0,
    lap_position=(0.0, 0.0, 0.0, 0.0),
    org=None,
    org_effect=None,
):
    """`form_sd` > 0: each driver's skill also walks (a random walk, this sd per race) on top
    of the fixed skill, the in-season form the model's trailing-form covariates see.
    `lap_position`: (led_finish, led_start, fast_finish, fast_start), the lap shares' slopes on
    f(finish) and g(start) (race_story.lap_position_term; ModelConfig.lap_position); all 0 (the
    default) draws exactly the frames of before (no random draw depends on them).
    `org` (n_drivers, n_races) int: each start's organisation (team "Org <k>"), whose effect
    `org_effect[k]` adds to ability (ModelConfig.team_effect); None (the default): no team, the
    frames of before."""
    led_f, led_s, fast_f, fast_s = lap_position
    rng = np.random.default_rng(seed)
    skill = rng.normal(0.0, 1.0, n_drivers)
    skill -= skill.mean()
    track = rng.normal(0.0, 0.2, (n_drivers, 4))
    start_effect = -0.8
    rows = []
    dates = pd.date_range("2024-02-01", periods=n_races, freq="7D")
    walk = np.zeros(n_drivers)
    for r in range(n_races):
        if form_sd > 0:
            walk = walk + rng.normal(0.0, form_sd, n_drivers)
        tt = r % 4
        start = rng.permutation(n_drivers) + 1
        s = (start - 1) / 39.0 - 0.5
        ability = skill + walk + track[:, tt]
        if org is not None:
            ability = ability + np.asarray(org_effect)[np.asarray(org)[:, r]]
        perf = story.performance(ability, 1.0, start_effect, s)
        dnf = story.draw_dnf(story.dnf_logit(-2.2, 0.0, s, -0.3, ability), rng.random(n_drivers))
        finish = story.finish_positions(
            story.order_utility(perf, dnf, -3.0), rng.gumbel(size=n_drivers)
        )
        frac = np.where(dnf, rng.uniform(0.05, 0.95, n_drivers), 1.0)
        lc = np.where(dnf, np.floor(frac * laps), laps).astype(int)
        g_fin, g_start = story.finish_feature(finish), story.position_feature(start)
        a_led = story.concentration(
            story.lap_share_log_concentration(
                -2.5, 2.0, perf, frac, extra=led_f * g_fin + led_s * g_start
            )
        )
        led = rng.multinomial(laps, rng.dirichlet(a_led))
        a_fast = story.concentration(
            story.lap_share_log_concentration(
                -1.0, 1.0, perf, frac, extra=fast_f * g_fin + fast_s * g_start
            )
        )
        fast = rng.multinomial(int(0.75 * laps), rng.dirichlet(a_fast))
        key = f"2024-synth-race-{r:02d}"
        for d in range(n_drivers):
            rows.append(
                {
                    "race_key": key,
                    "race_id": 1000 + r,
                    "season": 2024,
                    "race_date": str(dates[r].date()),
                    "race_name": f"Race {r}",
                    "track_name": f"Track {tt}",
                    "track_type": TRACK_TYPES[tt],
                    "laps": laps,
                    "driver_id": 100 + d,
                    "driver_name": f"Driver {d}",
                    "car_number": str(d),
                    "team": None if org is None else f"Org {org[d][r]}",
                    "start_position": int(start[d]),
                    "finish_position": int(finish[d]),
                    "laps_completed": int(min(lc[d], laps)),
                    "laps_led": int(min(led[d], lc[d])),
                    "fastest_laps": int(min(fast[d], lc[d])),
                    "status": "accident" if dnf[d] else "running",
                }
            )
    return pd.DataFrame(rows), {"skill": skill, "driver_ids": np.arange(100, 100 + n_drivers)}
