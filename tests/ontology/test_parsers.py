"""Pure parser checks (no Neo4j): name matching, race-key collisions, schedule selection,
the fast slate hash against core.snapshot.slate_hash."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from nascar_pipeline.core.snapshot import slate_hash
from nascar_pipeline.core.tables import conform
from nascar_pipeline.errors import UserInputError
from nascar_pipeline.ontology.parsers._common import assign_race_keys
from nascar_pipeline.ontology.parsers.contest import parse_contest
from nascar_pipeline.ontology.parsers.names import NameMatcher, name_key
from nascar_pipeline.ontology.parsers.schedule import parse_schedule
from nascar_pipeline.sources.neo4j_source import fast_slate_hash


@pytest.mark.parametrize(
    "a,b",
    [
        ("Martin Truex Jr.", "Martin Truex Jr"),
        ("Martin Truex Jr.", "martin truex"),
        ("Daniel Suárez", "Daniel Suarez"),
        ("A.J. Allmendinger", "AJ Allmendinger"),
        ("Ricky Stenhouse, Jr.", "RICKY STENHOUSE JR"),
        ("Dale Earnhardt Jr.", "Dale Earnhardt Jr"),
        ("John Doe III", "John Doe"),
        ("Corey LaJoie", "Corey Lajoie"),
    ],
)
def test_name_key_equal(a, b):
    assert name_key(a) == name_key(b)


def test_name_key_different():
    assert name_key("Kyle Busch") != name_key("Kurt Busch")
    assert name_key("Austin Dillon") != name_key("Ty Dillon")


def test_matcher_prefers_entrants_and_reports_ambiguity():
    drivers = pd.DataFrame(
        {"driver_id": [1, 2, 3], "name": ["Dale Earnhardt Jr.", "Dale Earnhardt", "Kyle Busch"]}
    )
    assert NameMatcher(drivers).match("kyle busch") == (3, None)
    did, why = NameMatcher(drivers).match("Dale Earnhardt")
    assert did is None and why.startswith("ambiguous")
    assert NameMatcher(drivers, prefer_ids=[1]).match("Dale Earnhardt Jr") == (1, None)
    assert NameMatcher(drivers).match("Jeff Gordon") == (None, "unmatched")


def test_race_key_collisions_are_suffixed_by_date():
    races = pd.DataFrame(
        {
            "season": [2020, 2020, 2020],
            "track_name": ["Dover"] * 3,
            "race_name": ["Drydene 311"] * 3,
            "race_id": [11, 10, 12],
            "race_date": ["2020-08-23", "2020-08-22", "2020-08-24"],
        }
    )
    assert list(assign_race_keys(races)) == [
        "2020-dover-drydene-311-2",
        "2020-dover-drydene-311",
        "2020-dover-drydene-311-3",
    ]


def test_schedule_picks_cup_points_races(shared_data):
    t = parse_schedule(shared_data / "feeds" / "race_list_basic.json")
    assert len(t.races) == 36
    assert t.races["race_key"].is_unique
    assert not t.races["race_name"].str.contains("Clash|Duel|All-Star").any()
    d500 = t.races[t.races["race_id"] == 5268].iloc[0]
    assert d500["race_key"] == "2023-daytona-daytona-500"
    assert d500["lock_time"] == "2023-02-19T19:30:00+00:00"  # 14:30 EST
    assert d500["track_type"] == "superspeedway"


def test_contest_payouts_normalized(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(
        json.dumps(
            {
                "contests": [
                    {
                        "contest_id": "a",
                        "site": "DK",
                        "name": "A",
                        "entry_fee": 1,
                        "field_size": 10,
                        "max_entries": 2,
                        "payouts": [{"min_place": 1, "max_place": 3, "prize": 3}],
                    }
                ]
            }
        )
    )
    t = parse_contest(p, "2023-x-y")
    assert t.contests.loc[0, "site"] == "draftkings"
    assert json.loads(t.contests.loc[0, "payouts"]) == [
        {"min_place": 1, "max_place": 3, "prize": 3.0}
    ]
    p.write_text(
        json.dumps(
            {
                "contest_id": "a",
                "site": "dk",
                "name": "A",
                "entry_fee": 1,
                "field_size": 10,
                "max_entries": 20,
                "payouts": [{"min_place": 1, "max_place": 3, "prize": 3}],
            }
        )
    )
    with pytest.raises(UserInputError, match="max_entries: 20 is above 10"):
        parse_contest(p, "2023-x-y")


def test_fast_slate_hash_equals_slate_hash(shared_data):
    from nascar_pipeline.ontology.parsers.history import parse_history

    t = parse_history(
        shared_data / "history" / "races.csv", shared_data / "history" / "results.csv"
    )
    e = t.entries.copy()
    e.loc[::3, "salary"] = (e.index[::3] % 40 + 50) * 100
    e.loc[::5, "dk_id"] = e.index[::5] + 1000
    e.loc[::7, "start_position"] = pd.NA
    e.loc[::4, "fd_salary"] = (e.index[::4] % 60 + 30) * 100
    e.loc[::6, "fd_id"] = [f"120109-{i}" for i in e.index[::6]]
    contests = conform(
        "contests",
        pd.DataFrame(
            [
                {
                    "contest_id": "b",
                    "race_key": e.race_key[0],
                    "site": "draftkings",
                    "name": "x",
                    "entry_fee": 0.25,
                    "field_size": 100,
                    "max_entries": 3,
                    "payouts": "[]",
                },
                {
                    "contest_id": "a",
                    "race_key": e.race_key[0],
                    "site": "fanduel",
                    "name": None,
                    "entry_fee": 1e-5,
                    "field_size": 10,
                    "max_entries": None,
                    "payouts": "[1]",
                },
            ]
        ),
    )
    fields = ["driver_id", "car_number", "salary", "dk_id", "start_position", "fd_salary", "fd_id"]
    text_fields = {"car_number", "fd_id"}
    for key in list(t.races["race_key"][:40]) + [e.race_key[0]]:
        ek = e[e["race_key"] == key]
        ck = contests[contests["race_key"] == key]
        rows = [
            [None if pd.isna(v) else (v if f in text_fields else int(v)) for f, v in zip(fields, r)]
            for r in ek[fields].astype(object).itertuples(index=False)
        ]
        crows = [
            [None if pd.isna(v) else v for v in r]
            for r in ck.astype(object).itertuples(index=False)
        ]
        assert fast_slate_hash(rows, crows) == slate_hash(ek, ck)


def test_salaries_parser_checks(tmp_path):
    from nascar_pipeline.ontology.parsers.salaries import parse_salaries
    from tests.support.dk_files import write_dk_salaries

    drivers = pd.DataFrame(
        {"driver_id": [1, 2, 3], "name": ["Martin Truex Jr.", "Daniel Suárez", "Kyle Busch"]}
    )
    p = write_dk_salaries(
        tmp_path / "s.csv",
        [("martin truex", 11, 9000), ("Daniel Suarez", 12, "7,500"), ("KYLE BUSCH", 13, "$8000")],
    )
    t = parse_salaries(p, "2023-x-y", drivers)
    assert t.entries[["driver_id", "salary", "dk_id"]].values.tolist() == [
        [1, 9000, 11],
        [2, 7500, 12],
        [3, 8000, 13],
    ]
    lines = p.read_text().splitlines()
    lines[2] = lines[2].replace(",D,", ",CPT,")
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserInputError, match="line 3, field Roster Position: 'CPT'"):
        parse_salaries(p, "2023-x-y", drivers)
