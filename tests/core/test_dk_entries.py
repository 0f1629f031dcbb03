"""DraftKings' entries file: every entry filled, every other byte as DraftKings wrote it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core.dk_entries import (
    bare_contest_id,
    cell_player_id,
    contest_counts,
    entries_per_contest,
    fill_entries,
    filled_lineups,
    parse_entries,
    same_contest,
)
from nascar_pipeline.core.errors import UserInputError
from nascar_pipeline.core.lineups import draftkings_lineup_frame
from tests.support.dk_files import (
    dk_entries_text,
    dk_player_rows,
    read_dk_salaries_players,
    sample_dk_entries_text,
)

INGEST = Path(__file__).resolve().parents[1] / "data" / "ingest"
GPP = ("NASCAR $100K Pit Stop [$20K to 1st]", "180001234", "$5")
SINGLE = ('NASCAR $25K Slingshot [Single Entry, $5K to 1st] "SE"', "180005678", "$3")
D = 12


def make_slate(names=None) -> pd.DataFrame:
    names = names or [f"Driver {i}" for i in range(D)]
    return pd.DataFrame(
        {
            "driver_id": np.arange(100, 100 + len(names)),
            "driver_name": names,
            "dk_id": pd.array(39_000_000 + np.arange(len(names)), dtype="Int64"),
            "salary": np.full(len(names), 8000),
            "projection": np.linspace(50, 20, len(names)),
        }
    )


def make_portfolio(slate, n, contest_id=None, start=0) -> pd.DataFrame:
    rows = [[(start + k + j) % len(slate) for j in range(6)] for k in range(n)]
    df = draftkings_lineup_frame(np.array(rows), slate)
    if contest_id is not None:
        df["contest_id"] = contest_id
    return df


def entries(gpp=9, single=1, cells=None):
    out, eid = [], 4_700_000_001
    for (name, cid, fee), n in ((GPP, gpp), (SINGLE, single)):
        for _ in range(n):
            out.append((str(eid), name, cid, fee, cells))
            eid += 1
    return out


def players(slate):
    return dk_player_rows(zip(slate["driver_name"], slate["dk_id"], slate["salary"]))


def expected_cells(slate, portfolio_rows):
    by_driver = dict(zip(slate["driver_id"], zip(slate["driver_name"], slate["dk_id"])))
    return [
        [f"{by_driver[r[f'd{j}_driver_id']][0]} ({by_driver[r[f'd{j}_driver_id']][1]})"
         for j in range(1, 7)]
        for _, r in portfolio_rows.iterrows()
    ]  # fmt: skip


@pytest.mark.parametrize(("newline", "bom"), [("\r\n", True), ("\n", False), ("\r\n", False)])
def test_fill_changes_only_the_roster_cells(newline, bom):
    slate = make_slate()
    ents = entries()
    text = dk_entries_text(ents, players(slate), newline=newline, bom=bom)
    gpp = make_portfolio(slate, 9, "dk-180001234")
    single = make_portfolio(slate, 2, "dk-180005678", start=5)
    out = fill_entries(text, pd.concat([gpp, single], ignore_index=True), slate)

    # The same file written with the lineups in the entries: byte for byte what we return.
    cells = expected_cells(slate, gpp) + expected_cells(slate, single.iloc[:1])
    filled = [(*e[:4], c) for e, c in zip(ents, cells)]
    assert out == dk_entries_text(filled, players(slate), newline=newline, bom=bom)
    assert out.count(newline) == text.count(newline)
    assert out.startswith("\ufeff") == bom
    got = filled_lineups(out)
    assert len(got) == 10 and all(all(pid for pid in ids) for _, _, ids in got)
    assert entries_per_contest(out) == {"180001234": 9, "180005678": 1}


def test_the_file_minus_the_roster_cells_is_identical():
    slate = make_slate()
    text = dk_entries_text(entries(), players(slate))
    out = fill_entries(text, make_portfolio(slate, 10), slate)
    before, after = parse_entries(text), parse_entries(out)
    slots = set(before.slot_columns)

    def rest(parsed):
        return [
            [c.value for k, c in enumerate(r.cells) if not (k in slots and r.cells[0].value)]
            for r in parsed.records
        ]

    assert rest(before) == rest(after)
    assert [e.entry_id for e in before.entries] == [e.entry_id for e in after.entries]
    assert all(all(e.slots) for e in after.entries)


def test_quoting_short_rows_and_quoted_blanks_kept_as_written():
    """DK's quirks kept byte for byte: every cell quoted on one row, a quoted empty
    instruction, a row without its trailing cells (those get separators), LF ends."""
    slate = make_slate()
    head = "Entry ID,Contest Name,Contest ID,Entry Fee,D,D,D,D,D,D,,Instructions\n"
    q = '"4700000001","NASCAR ""Big"" One, GPP","180001234","$5","","","","","","","",""\n'
    short = "4700000002,NASCAR Two,180001234,$5\n"
    blank = '4700000003,NASCAR Three,180001234,$0.25,,,,,,,,""\n'
    pl = ",,,,,,,,,,,Position,Name + ID,Name,ID,Roster Position,Salary\n"
    row = "".join(
        f",,,,,,,,,,,D,Driver {i} ({39000000 + i}),Driver {i},{39000000 + i},D,8000\n"
        for i in range(D)
    )
    text = head + q + short + blank + pl + row
    out = fill_entries(text, make_portfolio(slate, 3), slate)
    c = expected_cells(make_slate(), make_portfolio(slate, 3))
    want = (
        head
        + '"4700000001","NASCAR ""Big"" One, GPP","180001234","$5",'
        + ",".join(f'"{x}"' for x in c[0])
        + ',"",""\n'
        + "4700000002,NASCAR Two,180001234,$5,"
        + ",".join(c[1])
        + "\n"
        + "4700000003,NASCAR Three,180001234,$0.25,"
        + ",".join(c[2])
        + ',,""\n'
        + pl
        + row
    )
    assert out == want


def test_bytes_in_bytes_out_and_player_list_spelling():
    slate = make_slate()
    dk_rows = players(slate)
    dk_rows[0][2] = "Driver Zero"  # DK spells driver 0 its own way: the cell uses DK's name
    data = dk_entries_text(entries(gpp=1, single=0), dk_rows).encode("utf-8")
    out = fill_entries(data, make_portfolio(slate, 1), slate)
    assert isinstance(out, bytes)
    assert "Driver Zero (39000000),Driver 1 (39000001)" in out.decode("utf-8")


def test_pool_without_contest_ids_serves_every_contest_from_the_top():
    slate = make_slate()
    text = dk_entries_text(entries(gpp=3, single=1), players(slate), newline="\n")
    pool = make_portfolio(slate, 3)
    got = filled_lineups(fill_entries(text, pool, slate))
    first = tuple(str(39_000_000 + j) for j in range(6))
    assert got[0][2] == first and got[3][2] == first
    assert got[1][2] != first


def test_a_file_of_another_slate_is_refused_naming_row_and_field():
    slate = make_slate()
    other = players(slate)
    other[2][3] = "41000002"  # the player list of another slate
    text = dk_entries_text(entries(gpp=2, single=0), other, newline="\n")
    with pytest.raises(UserInputError) as exc:
        fill_entries(text, make_portfolio(slate, 2), slate, source="DKEntries (3).csv")
    msg = str(exc.value)
    assert "DKEntries (3).csv" in msg and "row 11, field ID: player id 41000002" in msg
    assert "another slate" in msg


def test_an_entry_filled_with_a_player_of_another_slate_is_refused():
    slate = make_slate()
    cells = ["Somebody Else (55500001)"] + [""] * 5
    text = dk_entries_text(entries(gpp=1, single=0, cells=cells), players(slate))
    with pytest.raises(UserInputError, match=r"row 2, field D \(slot 1\): player id 55500001"):
        fill_entries(text, make_portfolio(slate, 1), slate)


def test_too_few_lineups_for_a_contest_is_refused_naming_it():
    slate = make_slate()
    text = dk_entries_text(entries(gpp=5, single=1), players(slate))
    short = pd.concat(
        [make_portfolio(slate, 3, "dk-180001234"), make_portfolio(slate, 1, "dk-180005678")]
    )
    with pytest.raises(UserInputError) as exc:
        fill_entries(text, short, slate)
    msg = str(exc.value)
    assert "contest 180001234 has 5 entries, the portfolio 3 lineups" in msg
    assert "180005678" not in msg and "--entries" in msg and "build" in msg


def test_a_player_list_without_our_drivers_is_refused():
    slate = make_slate()
    text = dk_entries_text(entries(gpp=1, single=0), players(slate)[:4])
    with pytest.raises(UserInputError, match=r"lacks drivers of our lineups \(lineup 0, d5"):
        fill_entries(text, make_portfolio(slate, 1), slate)


def test_a_lineup_driver_without_a_dk_id_is_refused():
    slate = make_slate()
    listed = [r for r in players(slate) if r[3] != 39_000_003]
    text = dk_entries_text(entries(gpp=1, single=0), listed)
    portfolio = make_portfolio(slate, 1)
    no_id = slate.copy()
    no_id.loc[3, "dk_id"] = pd.NA  # a driver on our slate without a DraftKings salary
    with pytest.raises(UserInputError, match=r"without a DraftKings id.*lineup 0, d4: Driver 3"):
        fill_entries(text, portfolio, no_id)


def test_formula_like_names_are_neutralized():
    names = [f"Driver {i}" for i in range(D)]
    names[0] = "=cmd|' /C calc'!A0"
    slate = make_slate(names)
    text = dk_entries_text(entries(gpp=1, single=0), players(slate), newline="\n")
    out = fill_entries(text, make_portfolio(slate, 1), slate)
    entry_line = out.splitlines()[1]
    assert ",'=cmd|' /C calc'!A0 (39000000),Driver 1 (39000001)," in entry_line


def test_not_an_entries_file_is_refused():
    with pytest.raises(UserInputError, match="row 1: not DraftKings' entries file"):
        parse_entries((INGEST / "DKSalaries.csv").read_text(encoding="utf-8"), "DKSalaries.csv")
    showdown = "Entry ID,Contest Name,Contest ID,Entry Fee,CPT,D,D,D,D,D,,Instructions\n1,a,2,$1\n"
    with pytest.raises(UserInputError, match="roster slots CPT,D,D,D,D,D"):
        parse_entries(showdown)
    bad_id = "Entry ID,Contest Name,Contest ID,Entry Fee,D,D,D,D,D,D\nabc,a,2,$1\n"
    with pytest.raises(UserInputError, match="row 2, field Entry ID"):
        parse_entries(bad_id)
    twice = "Entry ID,Contest Name,Contest ID,Entry Fee,D,D,D,D,D,D\n7,a,2,$1\n7,a,2,$1\n"
    with pytest.raises(UserInputError, match="row 3, field Entry ID: entry 7 is also on row 2"):
        parse_entries(twice)
    assert cell_player_id("Denny Hamlin (39571001) (LOCKED)") == "39571001"


def test_a_portfolio_for_no_ingested_contest_is_one_pool():
    slate = make_slate()
    text = dk_entries_text(entries(gpp=2, single=1), players(slate), newline="\n")
    got = filled_lineups(fill_entries(text, make_portfolio(slate, 2, "default"), slate))
    assert got[0][2] == got[2][2] and got[0][2] != got[1][2]


def test_contest_ids_match_with_or_without_a_site_prefix():
    counts = {"180001234": 9, "180005678": 1}
    race = ["dk-180001234", "dk-180005678", "dk-1"]
    assert contest_counts(counts, race) == {"dk-180001234": 9, "dk-180005678": 1}
    with pytest.raises(UserInputError, match=r"contest 180005678 \(1 entries\) not among"):
        contest_counts(counts, ["dk-180001234"])
    assert bare_contest_id("dk-180001234") == "180001234"
    assert same_contest("dk-180001234", "180001234") and same_contest("180001234", "180001234")
    assert not same_contest("dk-180001234", "180001235")


def test_the_sample_is_the_slate_of_the_sample_salaries():
    path = INGEST / "DKEntries.csv"
    raw = path.read_bytes()
    assert (
        raw.startswith(b"\xef\xbb\xbf")
        and b"\r\n" in raw
        and b"\n" not in raw.replace(b"\r\n", b"")
    )
    text = raw.decode("utf-8")
    # Regenerate with tests/support/dk_files.py sample_dk_entries_text when DKSalaries.csv changes.
    assert text == sample_dk_entries_text(INGEST / "DKSalaries.csv")
    parsed = parse_entries(text)
    assert entries_per_contest(parsed) == {"180001234": 3, "180005678": 1}
    sal = read_dk_salaries_players(INGEST / "DKSalaries.csv")
    assert parsed.players == {int(i): n for n, i, *_ in sal}
    assert all(not any(e.slots) for e in parsed.entries)
