"""DFS site rules and NASCAR scoring: DraftKings Classic and FanDuel.

Pure NumPy, vectorized over any array shape (typically scenarios x drivers).
Inputs are positions (1-based), lap counts; all broadcast together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SITES = ("draftkings", "fanduel")


@dataclass(frozen=True)
class Site:
    name: str
    roster_size: int
    salary_cap: int
    # Salary floor the site accepts for one driver; used when validating slates.
    min_driver_salary: int = 1


DRAFTKINGS = Site(name="draftkings", roster_size=6, salary_cap=50_000)
FANDUEL = Site(name="fanduel", roster_size=5, salary_cap=50_000)


def get_site(name: str) -> Site:
    key = name.strip().lower()
    if key in ("draftkings", "dk"):
        return DRAFTKINGS
    if key in ("fanduel", "fd"):
        return FANDUEL
    raise ValueError(f"unknown DFS site {name!r}: expected one of {', '.join(SITES)}")


def dk_finish_points(finish) -> np.ndarray:
    """DraftKings finishing points: 1st 45; P in 2..10: 44-P; 11..20: 43-P;
    21..30: 42-P; 31..40: 41-P; below 40th: 0."""
    p = np.asarray(finish, dtype=np.int64)
    pts = np.where(p == 1, 45, 0)
    pts = np.where((p >= 2) & (p <= 10), 44 - p, pts)
    pts = np.where((p >= 11) & (p <= 20), 43 - p, pts)
    pts = np.where((p >= 21) & (p <= 30), 42 - p, pts)
    pts = np.where((p >= 31) & (p <= 40), 41 - p, pts)
    return pts.astype(np.float64)


def fd_finish_points(finish) -> np.ndarray:
    """FanDuel finishing points: 1st 43, 2nd 40, 3rd 38, then 41-P (4th 37 .. 40th 1)."""
    p = np.asarray(finish, dtype=np.int64)
    pts = np.where((p >= 4) & (p <= 40), 41 - p, 0)
    pts = np.where(p == 1, 43, pts)
    pts = np.where(p == 2, 40, pts)
    pts = np.where(p == 3, 38, pts)
    return pts.astype(np.float64)


def _check(start, finish) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(start)
    f = np.asarray(finish)
    if np.any(s < 1) or np.any(f < 1):
        raise ValueError("start and finish positions are 1-based and must be >= 1")
    return s, f


def draftkings_points(start, finish, laps_led, fastest_laps) -> np.ndarray:
    """DraftKings NASCAR Classic points: finish + place differential (start - finish)
    + 0.25 per lap led + 0.45 per fastest lap."""
    s, f = _check(start, finish)
    return (
        dk_finish_points(f)
        + (s - f).astype(np.float64)
        + 0.25 * np.asarray(laps_led, dtype=np.float64)
        + 0.45 * np.asarray(fastest_laps, dtype=np.float64)
    )


def fanduel_points(start, finish, laps_led, laps_completed) -> np.ndarray:
    """FanDuel NASCAR points: finish + 0.5 per place gained (or lost) + 0.1 per lap
    completed + 0.1 per lap led. FanDuel awards nothing for fastest laps."""
    s, f = _check(start, finish)
    return (
        fd_finish_points(f)
        + 0.5 * (s - f).astype(np.float64)
        + 0.1 * np.asarray(laps_completed, dtype=np.float64)
        + 0.1 * np.asarray(laps_led, dtype=np.float64)
    )


def site_points(site: str | Site, start, finish, laps_led, fastest_laps, laps_completed=0):
    """Points for either site; extra inputs a site does not use are ignored."""
    s = site if isinstance(site, Site) else get_site(site)
    if s.name == "draftkings":
        return draftkings_points(start, finish, laps_led, fastest_laps)
    return fanduel_points(start, finish, laps_led, laps_completed)


def max_points_bound(site: str | Site, field_size: int, laps: int) -> float:
    """An upper bound on one driver's points in a race (for sanity checks)."""
    s = site if isinstance(site, Site) else get_site(site)
    if s.name == "draftkings":
        return 45 + (field_size - 1) + 0.25 * laps + 0.45 * laps
    return 43 + 0.5 * (field_size - 1) + 0.1 * laps + 0.1 * laps


def min_points_bound(site: str | Site, field_size: int) -> float:
    s = site if isinstance(site, Site) else get_site(site)
    scale = 1.0 if s.name == "draftkings" else 0.5
    return -scale * (field_size - 1)
