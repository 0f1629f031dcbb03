"""core/exposure_report.py on hand-made frames: exposures, leverage and the limits asked, per
contest (contest_id) and for a build without contest ids; the lineup table's ceiling and
simulation columns; the terminal text."""

import json

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core.exposure_report import (
    DRIVER_COLUMNS,
    LINEUP_COLUMNS,
    WHOLE_RACE,
    exposure_report,
    format_report,
    snapshot_contests,
)
from nascar_pipeline.core.steering import Steering

IDS = list(range(1, 10))  # nine drivers: 1..9
NAMES = {d: f"Driver {d}" for d in IDS} | {9: "Ricky Stenhouse Jr."}
SALARY = {d: 5000 + 500 * d for d in IDS}
OWN = {d: 10.0 * d for d in IDS}  # field ownership %: 10, 20, ..., 90

# contest A: four lineups; contest B: two
LINEUPS = {
    ("dk-1", 0): [1, 2, 3, 4, 5, 6],
    ("dk-1", 1): [1, 2, 3, 4, 5, 7],
    ("dk-1", 2): [1, 2, 3, 4, 6, 7],
    ("dk-1", 3): [1, 2, 3, 5, 6, 7],
    ("dk-2", 0): [9, 8, 7, 6, 5, 4],
    ("dk-2", 1): [9, 8, 7, 6, 5, 3],
}


def portfolio(with_contest: bool = True) -> pd.DataFrame:
    rows = []
    for lid, ((cid, _), drivers) in enumerate(LINEUPS.items()):
        row = {"contest_id": cid, "lineup_id": lid, "site": "draftkings"}
        for j, d in enumerate(drivers, 1):
            row |= {f"d{j}_driver_id": d, f"d{j}_name": NAMES[d], f"d{j}_salary": SALARY[d]}
        row["salary"] = sum(SALARY[d] for d in drivers)
        row["projection"] = float(sum(drivers))
        rows.append(row)
    df = pd.DataFrame(rows)
    return df if with_contest else df.drop(columns="contest_id")


def simulation(with_contest: bool = True) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "contest_id": [c for c, _ in LINEUPS],
            "lineup_id": np.arange(len(LINEUPS)),
            "roi": [0.5, -0.2, 1.0, -1.0, 0.25, 0.0],
            "cash_pct": [30.0, 20.0, 25.0, 10.0, 22.0, 21.0],
            "win_pct": [0.1, 0.0, 0.2, 0.0, 0.05, 0.0],
            "top1_pct": [2.0, 1.0, 3.0, 0.0, 1.5, 1.2],
            "mean_rank": [100.0] * 6,
            "sim_duplicates": [0, 1, 0, 2, 0, 3],
            "honest_roi": [0.1, -0.3, 0.4, -1.0, 0.0, -0.1],
        }
    )
    return df if with_contest else df.drop(columns="contest_id")


def ownership() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "driver_id": IDS,
            "driver_name": [NAMES[d] for d in IDS],
            "salary": [SALARY[d] for d in IDS],
            "own_pct": [OWN[d] for d in IDS],
        }
    )


def projections() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "driver_id": IDS,
            "driver_name": [NAMES[d] for d in IDS],
            "salary": [SALARY[d] for d in IDS],
            "dk_mean": [3.0 * d for d in IDS],
            "dk_p90": [5.0 * d for d in IDS],
        }
    )


def scenarios() -> pd.DataFrame:
    # driver d scores d * k in scenario k (k = 0..9): lineup points = sum(drivers) * k
    S = 10
    return pd.DataFrame(
        {
            "scenario": np.repeat(np.arange(S), len(IDS)),
            "driver_id": np.tile(IDS, S),
            "dk_points": np.outer(np.arange(S), IDS).ravel().astype(float),
        }
    )


STEERING = Steering(
    n_lineups=4,
    lock=[1],
    exclude=[9],
    exposures=[{"driver": 7, "min": 0.25, "max": 0.75}, {"driver": 4, "max": 0.8}],
    global_max_exposure=0.9,
    groups=[{"name": "Team", "drivers": [2, 3], "at_least": 1}],
)


def _row(df, cid, driver):
    return df[(df["contest_id"] == cid) & (df["driver_id"] == driver)].iloc[0]


def test_exposure_and_leverage_per_contest():
    rep = exposure_report(
        portfolio(), simulation(), ownership(), projections(), scenarios(), STEERING
    )
    d = rep.drivers
    assert list(d.columns) == DRIVER_COLUMNS
    assert rep.contests == ["dk-1", "dk-2"]
    # every slate driver in every contest, held or not
    assert d.groupby("contest_id").size().to_dict() == {"dk-1": 9, "dk-2": 9}
    # contest dk-1: driver 1 in 4 of 4, 4 in 3 of 4, 7 in 3 of 4, 8 in none
    for driver, held, exp in [(1, 4, 100.0), (4, 3, 75.0), (7, 3, 75.0), (8, 0, 0.0)]:
        r = _row(d, "dk-1", driver)
        assert (r["lineups"], r["n_lineups"]) == (held, 4)
        assert r["exposure_pct"] == pytest.approx(exp)
        assert r["own_pct"] == pytest.approx(OWN[driver])
        assert r["leverage_pct"] == pytest.approx(exp - OWN[driver])
        assert r["projection"] == pytest.approx(3.0 * driver)
        assert r["ceiling"] == pytest.approx(5.0 * driver)
        assert r["salary"] == SALARY[driver] and r["driver_name"] == NAMES[driver]
    # contest dk-2 counts only its own two lineups
    assert _row(d, "dk-2", 9)["exposure_pct"] == 100.0
    assert _row(d, "dk-2", 3)["exposure_pct"] == 50.0
    assert _row(d, "dk-2", 1)["exposure_pct"] == 0.0
    assert _row(d, "dk-2", 1)["leverage_pct"] == pytest.approx(-10.0)
    # within a contest: most exposed first
    a = d[d["contest_id"] == "dk-1"]
    assert a["exposure_pct"].is_monotonic_decreasing


def test_limits_shown_as_asked():
    d = exposure_report(portfolio(), steering=STEERING, ownership=ownership()).drivers
    lock, excl, seven, four, five = (_row(d, "dk-1", x) for x in (1, 9, 7, 4, 5))
    assert lock["locked"] and lock["limit"] == "lock"
    assert (lock["min_exposure_pct"], lock["max_exposure_pct"]) == (100.0, 100.0)
    assert excl["excluded"] and excl["limit"] == "exclude" and excl["max_exposure_pct"] == 0.0
    assert (seven["min_exposure_pct"], seven["max_exposure_pct"]) == (25.0, 75.0)
    assert seven["limit"] == "min 25%, max 75%"
    assert four["max_exposure_pct"] == 80.0 and four["limit"] == "max 80%"
    # no limit of his own: the global cap
    assert five["max_exposure_pct"] == 90.0 and five["limit"] == "max 90% (global)"
    assert five["min_exposure_pct"] == 0.0 and not five["locked"] and not five["excluded"]
    assert _row(d, "dk-1", 2)["groups"] == "Team" and five["groups"] == ""


def test_steering_per_contest_and_none():
    other = Steering(n_lineups=2, global_max_exposure=1.0, lock=[9])
    d = exposure_report(portfolio(), steering={"dk-1": STEERING, "dk-2": other}).drivers
    assert _row(d, "dk-1", 9)["excluded"] and _row(d, "dk-2", 9)["locked"]
    assert _row(d, "dk-2", 5)["limit"] == "max 100% (global)"
    bare = exposure_report(portfolio()).drivers
    assert bare["max_exposure_pct"].isna().all() and bare["limit"].eq("").all()
    assert not bare["locked"].any() and not bare["excluded"].any()
    # without ownership the field owns nobody: leverage is the exposure
    assert (bare["leverage_pct"] == bare["exposure_pct"]).all()


def test_without_contest_id_the_race_is_one_contest():
    rep = exposure_report(
        portfolio(False), simulation(False), ownership(), projections(), scenarios(), STEERING
    )
    d, lu = rep.drivers, rep.lineups
    assert rep.contests == [WHOLE_RACE] and set(d["contest_id"]) == {WHOLE_RACE}
    assert len(d) == 9 and (d["n_lineups"] == 6).all()
    # driver 7: in 3 of contest A's lineups and both of B's = 5 of 6
    r = _row(d, WHOLE_RACE, 7)
    assert r["lineups"] == 5 and r["exposure_pct"] == pytest.approx(500 / 6)
    assert r["leverage_pct"] == pytest.approx(500 / 6 - 70.0)
    assert list(lu["lineup_id"]) == list(range(6))
    assert list(lu["roi"]) == [0.5, -0.2, 1.0, -1.0, 0.25, 0.0]


def test_lineup_table():
    lu = exposure_report(
        portfolio(), simulation(), ownership(), projections(), scenarios(), STEERING
    ).lineups
    assert list(lu.columns) == [*LINEUP_COLUMNS, "honest_roi"]
    first = lu.iloc[0]
    assert first["contest_id"] == "dk-1" and first["lineup_id"] == 0
    assert first["drivers"] == "Driver 1, Driver 2, Driver 3, Driver 4, Driver 5, Driver 6"
    assert first["driver_ids"] == "1,2,3,4,5,6"
    assert first["salary"] == sum(SALARY[d] for d in range(1, 7))
    assert first["projection"] == 21.0
    # lineup points are 21 * k over k = 0..9: the 90th percentile is 21 * 8.1
    assert first["ceiling"] == pytest.approx(np.quantile(21.0 * np.arange(10), 0.9))
    last = lu.iloc[-1]
    assert last["contest_id"] == "dk-2" and last["drivers"].startswith("Ricky Stenhouse Jr.")
    assert (last["roi"], last["sim_duplicates"], last["honest_roi"]) == (0.0, 3, -0.1)
    assert lu["cash_pct"].tolist() == simulation()["cash_pct"].tolist()


def test_simulation_joined_on_contest_and_lineup():
    """Lineup ids that restart in each contest: the simulation's rows join on both keys."""
    port = portfolio()
    port["lineup_id"] = [0, 1, 2, 3, 0, 1]
    sim = simulation().iloc[::-1].copy()  # another row order
    sim["lineup_id"] = [1, 0, 3, 2, 1, 0]
    lu = exposure_report(port, sim).lineups
    assert lu["roi"].tolist() == [0.5, -0.2, 1.0, -1.0, 0.25, 0.0]
    # no simulation (or no scenarios): the columns are there, empty
    bare = exposure_report(port).lineups
    assert list(bare.columns) == LINEUP_COLUMNS
    assert bare["roi"].isna().all() and bare["ceiling"].isna().all()


def test_contest_names_from_the_snapshot():
    snap = pd.DataFrame(
        {
            "role": ["entry", "history"],
            "contests": [
                json.dumps(
                    [
                        {"contest_id": "dk-1", "name": "NASCAR $100K Pit Stop", "entry_fee": 5},
                        {"contest_id": "dk-2", "name": "Single Entry", "entry_fee": 20},
                    ]
                ),
                None,
            ],
        }
    )
    contests = snapshot_contests(snap)
    assert contests["contest_id"].tolist() == ["dk-1", "dk-2"]
    rep = exposure_report(portfolio(), simulation(), ownership(), contests=contests)
    assert set(rep.drivers.loc[rep.drivers.contest_id == "dk-2", "contest_name"]) == {
        "Single Entry"
    }
    assert rep.lineups["contest_name"].iloc[0] == "NASCAR $100K Pit Stop"
    # no contest ingested: core/contests.py's stated default contest
    assert snapshot_contests(snap.drop(columns="contests"))["contest_id"].tolist() == ["default"]
    assert "contest dk-2 (Single Entry): 2 lineups" in format_report(rep.drivers, rep.lineups)


def test_format_report_is_compact_and_readable():
    rep = exposure_report(
        portfolio(), simulation(), ownership(), projections(), scenarios(), STEERING
    )
    text = format_report(rep.drivers, rep.lineups, max_lineups=2)
    lines = text.splitlines()
    assert lines[0] == (
        "contest dk-1: 4 lineups, mean simulated ROI +7.5%, cash 21.2%, honest ROI -20.0%; "
        "global max exposure 90%"
    )
    assert any(line.split()[:3] == ["Driver", "1", "5,500"] and "lock" in line for line in lines)
    assert "not held: Ricky Stenhouse Jr. (90% field), Driver 8 (80% field)" in text
    # the best two lineups by ROI, then how many more
    best = [line for line in lines if line.strip().startswith(("2 ", "0 "))]
    assert len(best) >= 2 and "... 2 more lineups" in text
    assert "Stenhouse Jr." in text and "contest dk-2: 2 lineups" in text
    assert max(len(line) for line in lines) <= 110
    # the driver table alone (a reader without the lineup table beside it)
    alone = format_report(rep.drivers)
    assert alone.startswith("contest dk-1: 4 lineups; global max exposure 90%")
    assert "lineup  salary" not in alone
    whole = exposure_report(portfolio(False), simulation(False), ownership())
    assert format_report(whole.drivers, whole.lineups).startswith("race: 6 lineups")
