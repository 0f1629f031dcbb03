"""FanDuel end to end: the player-list parser, `ingest fd-salaries` through a real Neo4j, the demo
world's FanDuel slates, and the FanDuel upload file written beside lineup_portfolio."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.cli import main
from nascar_pipeline.core.rules import FANDUEL
from nascar_pipeline.core.tables import ENTRIES_COLUMNS, OntologyTables
from nascar_pipeline.errors import UserInputError
from nascar_pipeline.ontology.parsers.fd_salaries import parse_fd_salaries
from nascar_pipeline.sources.demo_world import generate_world

FD_ID = re.compile(r"^\d+-\d+$")
# FanDuel's player-list export header (newer exports: two unnamed columns, then Roster Position)
FD_HEADER = [
    "Id",
    "Position",
    "First Name",
    "Nickname",
    "Last Name",
    "FPPG",
    "Played",
    "Salary",
    "Game",
    "Team",
    "Opponent",
    "Injury Indicator",
    "Injury Details",
    "Tier",
    "",
    "",
    "Roster Position",
]


@pytest.fixture(scope="module")
def world() -> OntologyTables:
    return generate_world(seed=7, seasons=1)


def _upcoming(world):
    key = world.races.sort_values("race_date")["race_key"].iloc[-1]
    e = world.entries[world.entries["race_key"] == key].merge(world.drivers, on="driver_id")
    return key, e.sort_values("driver_id").reset_index(drop=True)


def fd_rows(entries: pd.DataFrame) -> list[tuple[str, str, object]]:
    """(name, fd_id, salary) per entry, some names spelled as a site might (case, accent, Jr.)."""
    rows = []
    for i, r in enumerate(entries.itertuples()):
        name = r.name
        if i == 0:
            name = name.upper()
        elif i == 1:
            name = name + " Jr."
        elif i == 2:
            name = name.replace("a", "á", 1)
        rows.append((name, r.fd_id, int(r.fd_salary)))
    return rows


def write_fd_players(path, rows, header=FD_HEADER):
    """rows: (name, fd_id, salary) -> a FanDuel NASCAR player-list export."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for name, fd_id, salary in rows:
            first, _, last = name.partition(" ")
            rec = {
                "Id": fd_id,
                "Position": "D",
                "First Name": first,
                "Nickname": name,
                "Last Name": last,
                "FPPG": "38.2",
                "Played": "12",
                "Salary": salary,
                "Game": "",
                "Team": "",
                "Opponent": "",
                "Tier": "",
                "Roster Position": "D",
            }
            w.writerow([rec.get(h, "") for h in header])
    return path


# --------------------------------------------------------------------------- parser


def test_parser_reads_a_demo_slate(world, tmp_path):
    key, e = _upcoming(world)
    path = write_fd_players(tmp_path / "FanDuel-NASCAR-players-list.csv", fd_rows(e))
    got = parse_fd_salaries(path, key, world.drivers, e["driver_id"]).entries
    # the parser hands back a conforming entries table (every column, in the table's order)
    assert list(got.columns) == list(ENTRIES_COLUMNS)
    assert str(got["fd_salary"].dtype) == "Int64" and str(got["fd_id"].dtype) == "string"
    got = got.sort_values("driver_id").reset_index(drop=True)
    assert got["driver_id"].tolist() == e["driver_id"].tolist()
    assert got["fd_salary"].tolist() == e["fd_salary"].tolist()
    assert got["fd_id"].tolist() == e["fd_id"].tolist()
    assert (got["race_key"] == key).all()
    # DraftKings fields stay null: a partial update
    assert got["salary"].isna().all() and got["dk_id"].isna().all()


def test_parser_old_export_without_nickname(world, tmp_path):
    key, e = _upcoming(world)
    header = [h for h in FD_HEADER[:13] if h != "Nickname"]
    path = write_fd_players(tmp_path / "old.csv", fd_rows(e)[3:], header=header)
    got = parse_fd_salaries(path, key, world.drivers, e["driver_id"]).entries
    assert len(got) == len(e) - 3


def _edit(rows, i, name=None, fd_id=None, salary=None):
    rows = list(rows)
    n, f, s = rows[i]
    rows[i] = (
        name if name is not None else n,
        fd_id if fd_id is not None else f,
        salary if salary is not None else s,
    )
    return rows


BAD = {
    "over the cap": (
        lambda r: _edit(r, 4, salary=50_100),
        ["line 6, field Salary", "50100 is above 50000"],
    ),
    "not whole dollars": (
        lambda r: _edit(r, 4, salary="9500.5"),
        ["line 6, field Salary", "'9500.5' is not a whole number"],
    ),
    "zero salary": (lambda r: _edit(r, 5, salary=0), ["line 7, field Salary", "0 is below 1"]),
    "missing salary": (lambda r: _edit(r, 5, salary=""), ["line 7, field Salary", "missing value"]),
    "duplicate driver": (
        lambda r: _edit(r, 6, name=r[7][0], fd_id="120037-99999"),
        ["line 9, field Nickname", "duplicate driver", "(also line 8)"],
    ),
    "duplicate id": (
        lambda r: _edit(r, 6, fd_id=r[7][1]),
        ["line 9, field Id", "duplicate Id", "(also line 8)"],
    ),
    "bad id": (
        lambda r: _edit(r, 6, fd_id="10007"),
        ["line 8, field Id", "'10007' is not a FanDuel player id"],
    ),
    "two slates": (
        lambda r: _edit(r, 6, fd_id="999-10006"),
        ["field Id", "more than one FanDuel slate"],
    ),
    "unmatched names": (
        lambda r: _edit(_edit(r, 3, name="Jeff Gordon Jr."), 9, name="Dale Earnhardt"),
        [
            "2 name(s) match no known driver",
            "'Jeff Gordon Jr.' (line 5)",
            "'Dale Earnhardt' (line 11)",
        ],
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_parser_rejects_bad_input(world, tmp_path, case):
    key, e = _upcoming(world)
    edit, expected = BAD[case]
    path = write_fd_players(tmp_path / "bad.csv", edit(fd_rows(e)))
    with pytest.raises(UserInputError) as exc:
        parse_fd_salaries(path, key, world.drivers, e["driver_id"])
    msg = str(exc.value)
    assert str(path) in msg
    for part in expected:
        assert part in msg, msg


def test_parser_rejects_bad_files(world, tmp_path):
    key, e = _upcoming(world)
    path = write_fd_players(
        tmp_path / "nosalary.csv", fd_rows(e), header=[h for h in FD_HEADER if h != "Salary"]
    )
    with pytest.raises(UserInputError, match=r"line 1 \(header\): missing column\(s\) Salary"):
        parse_fd_salaries(path, key, world.drivers, e["driver_id"])
    empty = write_fd_players(tmp_path / "empty.csv", [])
    with pytest.raises(UserInputError, match="no players"):
        parse_fd_salaries(empty, key, world.drivers, e["driver_id"])


# --------------------------------------------------------------------------- demo world


def test_demo_world_has_valid_fanduel_slates():
    w = generate_world(seed=7)
    e = w.entries
    assert e["fd_salary"].notna().all() and e["fd_id"].notna().all()
    sal = e["fd_salary"].astype(int)
    assert sal.between(3_000, 14_000).all() and (sal % 100 == 0).all()
    assert e["fd_id"].map(lambda v: bool(FD_ID.match(v))).all() and e["fd_id"].is_unique
    # one slate number a race, one player number a driver
    parts = e["fd_id"].str.split("-", expand=True)
    assert (parts.groupby(e["race_key"])[0].nunique() == 1).all()
    assert (parts.groupby(e["driver_id"])[1].nunique() == 1).all()
    for _, g in e.groupby("race_key"):
        s = np.sort(g["fd_salary"].astype(int).to_numpy())
        # a trade-off: the five dearest cars do not fit under the cap, the five cheapest do
        assert s[-5:].sum() > FANDUEL.salary_cap > s[:5].sum()
        # FanDuel prices follow strength as DraftKings does
        assert np.corrcoef(g["fd_salary"].astype(float), g["salary"].astype(float))[0, 1] > 0.8
    again = generate_world(seed=7)
    pd.testing.assert_frame_equal(e, again.entries)


# --------------------------------------------------------------------------- Neo4j ingest


@pytest.fixture
def graph(neo4j_server, world):
    """The demo world (one season) in Neo4j WITHOUT its FanDuel slates."""
    from nascar_pipeline.ontology.writer import write_tables
    from tests.support.services.neo4j_server import clear_database, neo4j_env

    no_fd = world.entries.copy()
    no_fd["fd_salary"] = pd.NA
    no_fd["fd_id"] = pd.NA
    tables = OntologyTables(
        races=world.races,
        drivers=world.drivers,
        entries=no_fd,
        results=world.results,
        contests=world.contests,
    ).conformed()
    with neo4j_env(neo4j_server), neo4j_server.driver() as d:
        clear_database(d)
        write_tables(d, tables)
        yield d


def _entries(driver, key):
    recs, _, _ = driver.execute_query(
        "MATCH (d:Driver)-[e:ENTERED]->(:Race {race_key: $k}) RETURN d.driver_id AS id, e{.*} AS e",
        k=key,
    )
    return {r["id"]: r["e"] for r in recs}


def _cli(capsys, *args):
    capsys.readouterr()
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.neo4j
def test_ingest_fd_salaries(graph, world, tmp_path, capsys):
    from nascar_pipeline.sources.neo4j_source import Neo4jRaceSource
    from tests.support.services.neo4j_server import graph_checksum, graph_counts

    key, e = _upcoming(world)
    before = _entries(graph, key)
    assert all("fd_salary" not in v for v in before.values())
    path = write_fd_players(tmp_path / "fd.csv", fd_rows(e))
    rc, out, err = _cli(capsys, "ingest", "fd-salaries", path, "--race", key)
    assert rc == 0, err
    assert f"{len(e)} entries" in out
    after = _entries(graph, key)
    assert set(after) == set(before)
    want = e.set_index("driver_id")
    for did, props in after.items():
        assert props["fd_salary"] == want.loc[did, "fd_salary"]
        assert props["fd_id"] == want.loc[did, "fd_id"]
        for k, v in before[did].items():  # partial update: nothing else changed
            assert props[k] == v
    # read back through the Neo4j source, equal to the world's own FanDuel slate
    got = Neo4jRaceSource(graph).race_inputs(key).entries.set_index("driver_id")
    assert got["fd_salary"].astype(int).to_dict() == want["fd_salary"].astype(int).to_dict()
    assert got["fd_id"].astype(str).to_dict() == want["fd_id"].astype(str).to_dict()
    assert got["salary"].notna().all() and got["dk_id"].notna().all()
    # re-import changes nothing
    snap = (graph_counts(graph), graph_checksum(graph))
    assert _cli(capsys, "ingest", "fd-salaries", path, "--race", key)[0] == 0
    assert (graph_counts(graph), graph_checksum(graph)) == snap
    # a new FanDuel slate replaces the old one: the dropped driver loses only his FanDuel fields
    rows = fd_rows(e)
    rc, out, err = _cli(
        capsys,
        "ingest",
        "fd-salaries",
        write_fd_players(tmp_path / "b.csv", rows[1:]),
        "--race",
        key,
    )
    assert rc == 0 and "no longer on the slate" in out, err
    dropped = _entries(graph, key)[int(e["driver_id"].iloc[0])]
    assert "fd_salary" not in dropped and "fd_id" not in dropped
    assert dropped["salary"] and dropped["dk_id"] and dropped["car_number"]


@pytest.mark.neo4j
def test_ingest_fd_salaries_bad_input_writes_nothing(graph, world, tmp_path, capsys):
    from tests.support.services.neo4j_server import graph_checksum, graph_counts

    key, e = _upcoming(world)
    snap = (graph_counts(graph), graph_checksum(graph))
    rows = fd_rows(e)
    cases = [
        (
            write_fd_players(tmp_path / "cap.csv", _edit(rows, 4, salary=60_000)),
            key,
            "line 6, field Salary: 60000 is above 50000",
        ),
        (
            write_fd_players(tmp_path / "names.csv", _edit(rows, 3, name="Jeff Gordon Jr.")),
            key,
            "'Jeff Gordon Jr.' (line 5)",
        ),
        (
            write_fd_players(tmp_path / "dup.csv", _edit(rows, 6, fd_id=rows[7][1])),
            key,
            "duplicate Id",
        ),
        (
            write_fd_players(tmp_path / "ok.csv", rows),
            "2031-nowhere-speedway-400",
            "unknown race key '2031-nowhere-speedway-400'",
        ),
    ]
    for path, race, expected in cases:
        rc, _, err = _cli(capsys, "ingest", "fd-salaries", path, "--race", race)
        assert rc == 2 and str(path) in err and expected in err, err
        assert (graph_counts(graph), graph_checksum(graph)) == snap


# --------------------------------------------------------------------------- DFS upload


def test_fanduel_upload_from_the_dfs_asset(tmp_path, monkeypatch, capsys):
    from nascar_pipeline.assets.portfolio import read_fanduel_lineups
    from nascar_pipeline.core.fanduel import fanduel_problems
    from nascar_pipeline.resources.storage import StorageResource
    from tests.support.dfs_assets import RACE, run_dfs_assets, write_upstream
    from tests.support.races import check_results

    root = tmp_path / "store"
    layout = write_upstream(root, S=1200)
    snap = layout.read_asset("race_snapshot", RACE)
    ent = snap["role"] == "entry"
    n = int(ent.sum())
    # FanDuel prices: dearest $14,000 down in $300 steps (top five = $67,000 > cap)
    order = snap.loc[ent, "salary"].rank(method="first", ascending=False).astype(int) - 1
    snap.loc[ent, "fd_salary"] = (14_000 - 300 * order.to_numpy()).clip(3_000)
    snap.loc[ent, "fd_id"] = [f"130001-{20_000 + i}" for i in range(n)]
    snap["fd_salary"] = snap["fd_salary"].astype("Int64")
    snap["fd_id"] = snap["fd_id"].astype("string")
    layout.write_parquet(layout.asset_path("race_snapshot", RACE), snap)
    result = run_dfs_assets(root, {"lineup_portfolio": {"fanduel_lineups": 12}})
    checks = check_results(result)
    assert result.success and checks["lineup_portfolio_valid"], checks

    text = (root / "lineup_portfolio" / f"{RACE}.fanduel.csv").read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Driver"] * 5 and len(rows) == 13
    fd_sal = dict(zip(snap.loc[ent, "fd_id"], snap.loc[ent, "fd_salary"].astype(int)))
    for r in rows[1:]:
        assert len(r) == 5 and len(set(r)) == 5
        assert all(FD_ID.match(c) and c in fd_sal for c in r), r
        assert sum(fd_sal[c] for c in r) <= FANDUEL.salary_cap
    assert max(sum(fd_sal[c] for c in r) for r in rows[1:]) > 45_000  # the cap binds
    lineups = read_fanduel_lineups(StorageResource(root=str(root)), RACE)
    assert len(lineups) == 12 and (lineups["salary_source"] == "fanduel").all()
    assert fanduel_problems(lineups) == []

    out = tmp_path / "fd.csv"
    monkeypatch.setenv("STORAGE_ROOT", str(root))  # the CLI's storage comes from the settings
    rc, stdout, err = _cli(capsys, "export", "--race", RACE, "--site", "fanduel", "--out", out)
    assert rc == 0 and "warning" not in err and "NOT uploadable" not in stdout
    assert out.read_text() == text

    # the blocking check's FanDuel half: over FanDuel's cap, or a cell without an id, fails
    bad = lineups.copy()
    bad.loc[0, "d1_salary"] = 40_000
    assert any("over 50000" in p for p in fanduel_problems(bad))
    bad = lineups.copy()
    bad["d2_fd_id"] = bad["d2_fd_id"].astype(object)
    bad.loc[1, "d2_fd_id"] = None
    assert any("no valid FanDuel id" in p for p in fanduel_problems(bad))


def test_stand_in_fanduel_file_is_flagged_not_uploadable():
    from nascar_pipeline.core.export import fanduel_file_warnings, fanduel_upload_csv

    ids, warn = fanduel_upload_csv(
        [[("A", "1-1"), ("B", "1-2"), ("C", "1-3"), ("D", "1-4"), ("E", "1-5")]]
    )
    assert ids.splitlines() == ["Driver,Driver,Driver,Driver,Driver", "1-1,1-2,1-3,1-4,1-5"]
    assert warn == [] and fanduel_file_warnings(ids) == []
    names, warn = fanduel_upload_csv(
        [[("A", None), ("B", "1-2"), ("C", "1-3"), ("D", "1-4"), ("E", "1-5")]]
    )
    assert warn and "NOT uploadable" in warn[0]
    assert "NOT uploadable" in fanduel_file_warnings(names)[0]
