"""A real contest's payout table on a smaller (or larger) simulated contest.

A contest of N real entries is simulated with M entries (our lineups plus a simulated field that is
usually smaller: 10,000 field lineups stand for a 34,482-entry GPP). Applying the real table to the
M simulated places would pay far too deep: a table that pays 8,000 places pays almost every one of
10,000 simulated entries. Each simulated entry stands for r = N / M real entries, so simulated place
k covers the real places ((k - 1) r, k r]; it pays the mean real prize over that stretch (the step
function's exact integral, divided by r). The simulated pool is then the real pool times M / N and
the fee is unchanged, so an entry's expected ROI is the real contest's, and the prizes still never
increase with the place.

Pure NumPy; no I/O.
"""

from __future__ import annotations

import numpy as np


def rescaled_prizes(prizes, real_entries: int, simulated_entries: int) -> np.ndarray:
    """(simulated_entries,) prize per simulated place for a real table `prizes` (places 1..P) of a
    contest with `real_entries` entries simulated with `simulated_entries` entries."""
    p = np.asarray(prizes, dtype=np.float64)
    n_real, m = int(real_entries), int(simulated_entries)
    if n_real < 1 or m < 1:
        raise ValueError("entries must be at least 1")
    r = n_real / m
    cum = np.concatenate([[0.0], np.cumsum(p)])  # cum[j] = prize of places 1..j

    def paid_through(x: np.ndarray) -> np.ndarray:
        # total prize of the first x real places, x real: linear inside a place (a place's prize
        # spread over its unit width), flat beyond the last paid place
        x = np.clip(x, 0.0, float(p.size))
        j = np.floor(x).astype(np.int64)
        frac = x - j
        nxt = np.where(j < p.size, p[np.minimum(j, p.size - 1)], 0.0)
        return cum[j] + frac * nxt

    edges = paid_through(np.arange(m + 1, dtype=np.float64) * r)
    out = np.diff(edges) / r
    # float rounding must not make a later place pay a hair more than an earlier one
    return np.minimum.accumulate(out)
