"""core/contests.py: a race's contests from its snapshot (contests list, legacy columns, the
default), the entries each gets, and the steering of a contest of fewer lineups."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from nascar_pipeline.core.contest import default_gpp_payouts, payout_table_from_json
from nascar_pipeline.core.contests import (
    DEFAULT_CONTEST_ID,
    Contest,
    ContestEntriesError,
    allocate_entries,
    contest_rng,
    contest_steering,
    contests_from_snapshot,
)
from nascar_pipeline.core.steering import Steering

PAYOUTS = [
    {"min_place": 1, "max_place": 1, "prize": 1000.0},
    {"min_place": 2, "max_place": 10, "prize": 100.0},
]
GPP = {
    "contest_id": "dk-180001234",
    "site": "draftkings",
    "name": "NASCAR $100K Pit Stop",
    "entry_fee": 5.0,
    "field_size": 23780,
    "max_entries": 150,
    "payouts": PAYOUTS,
}
SINGLE = {**GPP, "contest_id": "dk-180009999", "name": "Single Entry", "field_size": 100,
          "max_entries": 1, "entry_fee": 25.0}  # fmt: skip
FD = {**GPP, "contest_id": "fd-1", "site": "fanduel", "name": "FanDuel GPP"}


def snapshot(**cols) -> pd.DataFrame:
    base = {"role": ["entry", "entry", "history"], "driver_id": [1, 2, 1]}
    df = pd.DataFrame(base)
    for k, v in cols.items():
        df[k] = pd.Series([v, v, pd.NA], dtype="string" if isinstance(v, str) else None)
    return df


def test_contests_column_every_contest_sorted():
    snap = snapshot(contests=json.dumps([SINGLE, GPP]), contest_id="dk-180001234")
    cs = contests_from_snapshot(snap)
    assert [c.contest_id for c in cs] == ["dk-180001234", "dk-180009999"]
    gpp, single = cs
    assert (gpp.entry_fee, gpp.field_size, gpp.max_entries, gpp.name) == (
        5.0, 23780, 150, "NASCAR $100K Pit Stop",
    )  # fmt: skip
    assert single.max_entries == 1 and single.is_draftkings
    t = gpp.payout_table(23780)  # its own size: the table as written
    ref = payout_table_from_json(json.dumps(PAYOUTS), 5.0)
    assert t.source == "contest" and t.entry_fee == 5.0 and (t.prizes == ref.prizes).all()


def test_legacy_columns_without_id_or_site():
    snap = snapshot(
        contest_entry_fee=5.0, contest_field_size=1500, contest_payouts=json.dumps(PAYOUTS)
    )
    [c] = contests_from_snapshot(snap)
    assert c.contest_id == "contest" and c.site == "draftkings" and c.source == "legacy"
    assert c.field_size == 1500 and c.entry_fee == 5.0 and c.payouts is not None
    assert c.simulated_field_size(None) == 1500 and c.simulated_field_size(800) == 800
    assert c.simulated_field_size(5000) == 1500  # never more than the contest holds


def test_no_contest_is_todays_default():
    [c] = contests_from_snapshot(snapshot())
    assert c.contest_id == DEFAULT_CONTEST_ID and c.payouts is None and c.is_draftkings
    t, ref = c.payout_table(10_008), default_gpp_payouts(10_008, 20.0)
    assert t.source == "default" and t.entry_fee == 20.0 and (t.prizes == ref.prizes).all()
    assert c.simulated_field_size(None) == 10_000 and c.simulated_field_size(None, 5000) == 5000
    assert c.simulated_field_size(20_000) == 20_000  # the run config's size, as before


def _contests():
    return contests_from_snapshot(snapshot(contests=json.dumps([GPP, SINGLE, FD])))


def test_allocation_caps_by_max_entries_and_skips_fanduel():
    allocs, notes = allocate_entries(_contests(), 20)
    got = {a.contest.contest_id: a.n_lineups for a in allocs}
    assert got == {"dk-180001234": 20, "dk-180009999": 1}
    single = next(a for a in allocs if a.contest.contest_id == "dk-180009999")
    assert "single-entry (max_entries 1)" in single.why
    assert any("fd-1" in n and "no DraftKings portfolio" in n for n in notes)


def test_entries_per_contest_exact_and_refused_above_max():
    allocs, notes = allocate_entries(_contests(), 20, {"dk-180001234": 12})
    assert [(a.contest.contest_id, a.n_lineups) for a in allocs] == [("dk-180001234", 12)]
    assert any("dk-180009999" in n and "not in entries_per_contest" in n for n in notes)
    with pytest.raises(
        ContestEntriesError, match=r"dk-180009999 \(Single Entry\): 3 entries > its max_entries 1"
    ):
        allocate_entries(_contests(), 20, {"dk-180009999": 3})
    # DraftKings' own ids (a DKEntries.csv's Contest ID) name the same contests
    allocs, _ = allocate_entries(_contests(), 20, {"180001234": 4, "180009999": 1})
    assert [(a.contest.contest_id, a.n_lineups) for a in allocs] == [
        ("dk-180001234", 4), ("dk-180009999", 1),
    ]  # fmt: skip
    with pytest.raises(ContestEntriesError, match="'dk-404' is not a contest of this race"):
        allocate_entries(_contests(), 20, {"dk-404": 1})
    with pytest.raises(ContestEntriesError, match="fanduel contest"):
        allocate_entries(_contests(), 20, {"fd-1": 1})
    with pytest.raises(ContestEntriesError, match="no DraftKings contest"):
        allocate_entries(_contests(), 20, {"dk-180001234": 0})


def test_only_fanduel_contests_build_against_the_default():
    allocs, notes = allocate_entries([Contest("fd-1", site="fanduel")], 8)
    assert [a.contest.contest_id for a in allocs] == [DEFAULT_CONTEST_ID]
    assert allocs[0].n_lineups == 8 and any("default GPP" in n for n in notes)


def test_contest_steering():
    s = Steering(n_lineups=20, global_max_exposure=0.6, lock=[1], exclude=[2])
    assert contest_steering(s, 20, global_max_asked=False) is s
    one = contest_steering(s, 1, global_max_asked=True)  # a cap across one lineup bans drivers
    assert (one.n_lineups, one.global_max_exposure, one.lock, one.exclude) == (1, 1.0, [1], [2])
    s5 = Steering(n_lineups=20, global_max_exposure=0.5)
    assert contest_steering(s5, 10, global_max_asked=True).global_max_exposure == 0.5
    assert contest_steering(s5, 10, global_max_asked=False).global_max_exposure == 0.6


def test_contest_rng_first_is_the_seed():
    import numpy as np

    assert contest_rng(7, 0).random() == np.random.default_rng(7).random()
    assert contest_rng(7, 1).random() != contest_rng(7, 0).random()


def test_real_table_rescaled_to_the_simulated_entries():
    """A 23,780-entry GPP paying 5,000 places simulated with 10,008 entries: about 2,104 paid
    places, the pool scaled by 10,008 / 23,780 (so the expected ROI is the real one)."""
    payouts = [
        {"min_place": 1, "max_place": 1, "prize": 10_000.0},
        {"min_place": 2, "max_place": 100, "prize": 100.0},
        {"min_place": 101, "max_place": 5000, "prize": 8.0},
    ]
    c = contests_from_snapshot(snapshot(contests=json.dumps([{**GPP, "payouts": payouts}])))[0]
    real = payout_table_from_json(json.dumps(payouts), 5.0)
    t = c.payout_table(10_008)
    assert t.source == "contest" and t.entry_fee == 5.0
    assert abs(t.prizes.size - 5000 * 10_008 / 23_780) <= 1
    assert t.total == pytest.approx(real.total * 10_008 / 23_780)
    assert (pd.Series(t.prizes).diff().dropna() <= 1e-9).all()  # never increasing
    assert "23,780 entries rescaled to 10,008" in c.payout_note(10_008)
    exact = c.payout_table(23_780)  # the contest's own size: its table as written
    assert (exact.prizes == real.prizes).all()
