"""The demo world's drivers and teams: 45 fictional drivers on 15 fictional teams, their
latent skill and how often part-timers enter each track type."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nascar_pipeline.core.tables import TRACK_TYPES

_FIRST = (
    "Cole Tanner Brady Wyatt Mason Landon Garrett Reid Colby Dalton Bryce Trent Jace Hunter "
    "Logan Carson Austin Blake Chase Derek Grady Heath Jonah Kyle Lane Nolan Owen Parker "
    "Quinn Ross Shane Travis Wade Zane Brock Casey Dillon Emmett Forrest Gage Harlan Ike Jory "
    "Knox Luca"
).split()
_LAST = (
    "Whitfield Harlow Pruitt Caldwell Brannon Sutter Mercer Dunlap Holloway Kincaid Ashby "
    "Rucker Tolliver Vance Easley Gentry Hollister Lockhart McRae Norwood Overby Pickett "
    "Queen Renfro Stroud Tate Underwood Varner Wheeler Yancey Abernathy Boone Cantrell Decker "
    "Ellison Fairchild Gaither Hensley Ingram Jessup Kilgore Ledford Maddox Newsome Oakley"
).split()
# (team, manufacturer, full-time cars, part-time cars)
TEAMS = [
    ("Piedmont Motorsports", "Chevrolet", 4, 0),
    ("Carolina Speed Group", "Toyota", 4, 0),
    ("Blue Ridge Racing", "Ford", 3, 0),
    ("Catawba Performance", "Chevrolet", 3, 0),
    ("Tidewater Racing", "Ford", 3, 1),
    ("Red Clay Motorsports", "Toyota", 2, 1),
    ("Iron Horse Racing", "Chevrolet", 2, 1),
    ("Lakeside Motorsports", "Ford", 2, 0),
    ("Sandhills Racing", "Chevrolet", 2, 1),
    ("Magnolia Racing", "Toyota", 2, 0),
    ("Pinecrest Motorsports", "Ford", 2, 1),
    ("Foothills Racing", "Chevrolet", 2, 0),
    ("Big Oak Racing", "Ford", 1, 2),
    ("Cumberland Motorsports", "Chevrolet", 1, 2),
    ("Lone Pine Racing", "Toyota", 1, 2),
]


PART_TIME_CARS = 3.4  # expected part-time cars a race (34 full-time cars + 3.4 = ~37.4 cars)


def _normal_quantiles(n: int) -> np.ndarray:
    from statistics import NormalDist

    nd = NormalDist()
    return np.array([nd.inv_cdf((i + 0.5) / n) for i in range(n)])


def driver_pool(rng: np.random.Generator) -> pd.DataFrame:
    rows, k = [], 0
    numbers = [
        int(n)
        for n in (
            "1 2 3 4 5 6 7 8 9 10 11 12 14 16 17 19 20 21 22 23 24 31 33 34 38 41 42 43 45 47 48 "
            "51 54 60 62 66 67 71 77 78 84 88 91 97 99"
        ).split()
    ]
    for ti, (team, make, full, part) in enumerate(TEAMS):
        for j in range(full + part):
            rows.append(
                {
                    "team_idx": ti,
                    "team": team,
                    "manufacturer": make,
                    "full_time": j < full,
                    "name": f"{_FIRST[k]} {_LAST[(k * 7) % 45]}",
                    "car_number": str(numbers[(k * 17) % 45]),
                }
            )
            k += 1
    df = pd.DataFrame(rows)
    df["driver_id"] = 800_001 + np.arange(len(df))
    n = len(df)
    full = df["full_time"].to_numpy()
    # Latent skill (logit-ish units): full-timers N(0, 1), part-timers N(-1.1, 0.6), drawn as
    # shuffled normal quantiles so that every seed has the same spread of talent (the world's
    # statistics then vary little from seed to seed).
    skill = np.empty(n)
    skill[full] = rng.permutation(_normal_quantiles(int(full.sum())))
    skill[~full] = -1.1 + 0.6 * rng.permutation(_normal_quantiles(int((~full).sum())))
    df["skill"] = skill
    # Part-timers: a few road-course and superspeedway specialists (entering 85 % of such
    # races), the rest "open" cars; the others' entry probabilities are scaled so that a race
    # expects PART_TIME_CARS part-time cars at every track type.
    n_part = int((~full).sum())
    kinds = np.array((["road", "plate", "open", "open"] * n_part)[:n_part])
    kind = np.full(n, "full", dtype=object)
    kind[~full] = rng.permutation(kinds)
    p = np.zeros((n, 4))
    p[full] = 1.0
    for i, tt in enumerate(TRACK_TYPES):
        spec = (
            (kind == "road")
            if tt == "road"
            else (kind == "plate")
            if tt == "superspeedway"
            else np.zeros(n, dtype=bool)
        )
        p[spec, i] = 0.85
        rest = (~full) & ~spec
        w = rng.uniform(0.5, 1.5, n)[rest]
        p[rest, i] = np.clip(w / w.sum() * (PART_TIME_CARS - 0.85 * spec.sum()), 0.02, 0.9)
    df["kind"] = kind
    for i, tt in enumerate(TRACK_TYPES):
        df[f"p_enter_{tt}"] = np.where(full, 1.0, p[:, i])
    return df
