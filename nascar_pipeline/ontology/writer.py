"""Write OntologyTables into Neo4j: one transaction per input file, MERGE + UNWIND batches.

Graph (see /work/shared/DESIGN.md): (:Driver {driver_id, name, name_date, aliases}), (:Team {name, manufacturer}),
(:Track {track_id, name, type, length_miles}), (:Race {race_key, race_id, season, race_date,
race_name, scheduled_laps, laps, lock_time, status}), (:Contest {contest_id, site, name,
entry_fee, field_size, max_entries, payouts}); (Race)-[:AT]->(Track),
(Driver)-[:ENTERED {car_number, team, manufacturer, salary, dk_id, start_position,
dk_own_pct, fd_salary, fd_id}]->(Race), (Driver)-[:FINISHED {position, laps_completed, laps_led, fastest_laps,
status}]->(Race), (Driver)-[:DROVE_FOR {season}]->(Team), (Contest)-[:FOR]->(Race).
Race property names are the races-table column names; race_date is an ISO 'YYYY-MM-DD' string
and lock_time an ISO-8601 UTC string, so they round-trip exactly (and sort as text).

Rules:
- Everything a file yields is written by `ingest` in ONE explicit write transaction: the file
  is parsed (pure), checked against the graph (reads in the same transaction), then written;
  any error rolls the whole file back. MERGE on ids makes a re-import a no-op. A transaction
  too large for the server's transaction memory is a clear error (see `_write_once`).
- A driver's `name` is its spelling of the latest race date seen (`name_date`), whatever the
  order files arrive in; every other spelling, and names from an aliases file, are in
  `aliases` (sorted, once; absent when none). Name matching reads both (GraphView.drivers).
- Partial updates never erase: every property is `SET x = coalesce(new, x)`, so a salary file
  leaves start positions, results and names alone.
- A race keeps the key it was first given: rows are matched to existing races by race_id, and a
  new race whose key is taken by another race gets `-2`, `-3`, ... (keys are Dagster partitions).
- A race that is `final` stays final, and a non-final row (a schedule) only fills its blanks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from nascar_pipeline.core.tables import LOOP_STATS_COLUMNS, TABLE_COLUMNS, OntologyTables
from nascar_pipeline.errors import UserInputError
from nascar_pipeline.ontology.parsers.spellings import AliasTables

BATCH = 2000


GRAPH_COUNTERS = ("nodes_created", "relationships_created", "properties_set")


@dataclass
class WriteSummary:
    """What one file's write did: rows per table in the file, Neo4j's counters, race keys."""

    rows: dict[str, int] = field(default_factory=dict)  # table -> rows (TABLE_COLUMNS order)
    graph: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GRAPH_COUNTERS, 0))
    race_keys: dict[str, str] = field(default_factory=dict)  # file key -> key in the graph
    notes: list[str] = field(default_factory=list)

    def count(self, counters) -> None:
        """Add a Neo4j result's SummaryCounters."""
        for name in GRAPH_COUNTERS:
            self.graph[name] += getattr(counters, name)

    def line(self) -> str:
        parts = [f"{n} {table}" for table, n in self.rows.items() if n]
        g = self.graph
        return (
            f"wrote {', '.join(parts) or 'nothing'}: {g['nodes_created']} nodes and "
            f"{g['relationships_created']} relationships created, "
            f"{g['properties_set']} properties set"
            + (f" ({'; '.join(self.notes)})" if self.notes else "")
        )


class GraphView:
    """Reads a parser may need, inside the write transaction."""

    def __init__(self, tx):
        self.tx = tx

    def drivers(self) -> pd.DataFrame:
        """(driver_id, name) for every driver's name and every alias (one row each), so name
        matching finds a driver by any spelling it is known by."""
        rows = self.tx.run(
            "MATCH (d:Driver) UNWIND [d.name] + coalesce(d.aliases, []) AS name "
            "RETURN d.driver_id AS driver_id, name"
        )
        return pd.DataFrame([r.data() for r in rows], columns=["driver_id", "name"])

    def race_exists(self, race_key: str) -> bool:
        return (
            self.tx.run("MATCH (r:Race {race_key: $k}) RETURN count(r) AS n", k=race_key).single()[
                "n"
            ]
            > 0
        )

    def require_race(self, race_key: str, source: str) -> None:
        if not self.race_exists(race_key):
            raise UserInputError(
                f"file {source}, option --race: unknown race key {race_key!r} "
                "(ingest the schedule, feed or history that creates it first; "
                "check the key with `ingest schedule` output or list_races)"
            )

    def race_driver_ids(self, race_key: str) -> list[int]:
        rows = self.tx.run(
            "MATCH (d:Driver)-[:ENTERED]->(:Race {race_key: $k}) RETURN d.driver_id AS id",
            k=race_key,
        )
        return [r["id"] for r in rows]

    def race_contests(self, race_key: str) -> pd.DataFrame:
        """(contest_id, site, field_size, payouts) of the race's contests."""
        rows = self.tx.run(
            "MATCH (c:Contest)-[:FOR]->(:Race {race_key: $k}) RETURN c.contest_id AS contest_id, "
            "c.site AS site, c.field_size AS field_size, c.payouts AS payouts",
            k=race_key,
        )
        return pd.DataFrame(
            [r.data() for r in rows], columns=["contest_id", "site", "field_size", "payouts"]
        )


def _py(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        return v.item()
    return v


def _records(df: pd.DataFrame) -> list[dict]:
    cols = list(df.columns)
    return [
        {c: _py(v) for c, v in zip(cols, row)}
        for row in df.astype(object).itertuples(index=False, name=None)
    ]


def _resolve_race_keys(tx, tables: OntologyTables, source: str) -> dict[str, str]:
    """file key -> graph key (see the module docstring)."""
    existing = [r.data() for r in tx.run("MATCH (r:Race) RETURN r.race_key AS k, r.race_id AS id")]
    key_by_id = {r["id"]: r["k"] for r in existing if r["id"] is not None}
    id_by_key = {r["k"]: r["id"] for r in existing}
    races = tables.races.sort_values(["race_date", "race_id"], na_position="last")
    mapping, used = {}, set()
    for key, rid in zip(races["race_key"], races["race_id"]):
        rid = None if pd.isna(rid) else int(rid)
        if rid is not None and rid in key_by_id:
            new = key_by_id[rid]
        else:
            new, n = key, 1
            while new in used or (
                new in id_by_key and rid is not None and id_by_key[new] not in (None, rid)
            ):
                n += 1
                new = f"{key}-{n}"
        used.add(new)
        mapping[key] = new
    return mapping


def _check_references(tx, t: OntologyTables, source: str) -> None:
    keys = set(t.races["race_key"].dropna())
    refs = (
        set(t.entries["race_key"].dropna())
        | set(t.results["race_key"].dropna())
        | set(t.contests["race_key"].dropna())
    )
    missing = sorted(refs - keys)
    if missing:
        found = {
            r["k"]
            for r in tx.run("UNWIND $keys AS k MATCH (r:Race {race_key: k}) RETURN k", keys=missing)
        }
        unknown = [k for k in missing if k not in found]
        if unknown:
            raise UserInputError(f"file {source}: unknown race key(s) {', '.join(unknown[:10])}")
    ids = set(t.drivers["driver_id"].dropna().astype(int))
    drefs = set(t.entries["driver_id"].dropna().astype(int)) | set(
        t.results["driver_id"].dropna().astype(int)
    )
    dmissing = sorted(drefs - ids)
    if dmissing:
        found = {
            r["id"]
            for r in tx.run(
                "UNWIND $ids AS id MATCH (d:Driver {driver_id: id}) RETURN id", ids=dmissing
            )
        }
        unknown = [i for i in dmissing if i not in found]
        if unknown:
            raise UserInputError(
                f"file {source}: unknown driver id(s) {', '.join(map(str, unknown[:10]))}"
            )


_Q_TRACKS = """
UNWIND $rows AS row
MERGE (t:Track {track_id: row.track_id})
SET t.name = coalesce(row.track_name, t.name),
    t.type = coalesce(row.track_type, t.type),
    t.length_miles = coalesce(row.track_length_miles, t.length_miles)
"""

_RACE_PROPS = ["race_id", "season", "race_date", "race_name", "scheduled_laps", "laps", "lock_time"]
_Q_RACES = (
    """
UNWIND $rows AS row
MERGE (r:Race {race_key: row.race_key})
WITH r, row, (r.status = 'final' AND coalesce(row.status, '') <> 'final') AS keep
SET """
    + ",\n    ".join(
        f"r.{p} = CASE WHEN keep THEN coalesce(r.{p}, row.{p}) ELSE coalesce(row.{p}, r.{p}) END"
        for p in _RACE_PROPS
    )
    + """,
    r.status = CASE WHEN keep THEN r.status ELSE coalesce(row.status, r.status) END
WITH r, row WHERE row.track_id IS NOT NULL
MATCH (t:Track {track_id: row.track_id})
OPTIONAL MATCH (r)-[old:AT]->(o:Track) WHERE o.track_id <> row.track_id
DELETE old
MERGE (r)-[:AT]->(t)
"""
)

# A driver's name is its latest spelling by race date (`name_date`, across files); every other
# spelling it was given is kept, sorted and once, in `aliases` (absent when there is none).
# A row without a date (tables built in code) names the driver as before: its name wins.
_Q_DRIVERS = """
UNWIND $rows AS row
MERGE (d:Driver {driver_id: row.driver_id})
WITH d, row, [d.name] + coalesce(d.aliases, []) + coalesce(row.spellings, []) AS known,
     (row.name_date IS NULL OR d.name_date IS NULL OR row.name_date >= d.name_date) AS newer
SET d.name = CASE WHEN newer THEN coalesce(row.name, d.name) ELSE d.name END,
    d.name_date = CASE WHEN newer THEN coalesce(row.name_date, d.name_date) ELSE d.name_date END
WITH d, COLLECT { UNWIND known AS n WITH DISTINCT n WHERE n IS NOT NULL AND n <> d.name
                  RETURN n ORDER BY n } AS aliases
SET d.aliases = CASE WHEN size(aliases) = 0 THEN null ELSE aliases END
"""

# Aliases from an aliases file: extra spellings of known drivers (DraftKings' or FanDuel's).
_Q_ALIASES = """
UNWIND $rows AS row
MATCH (d:Driver {driver_id: row.driver_id})
WITH d, collect(row.alias) AS new
WITH d, COLLECT { UNWIND coalesce(d.aliases, []) + new AS n WITH DISTINCT n WHERE n <> d.name
                  RETURN n ORDER BY n } AS aliases
SET d.aliases = CASE WHEN size(aliases) = 0 THEN null ELSE aliases END
"""

_ENTRY_PROPS = [
    "car_number",
    "team",
    "manufacturer",
    "salary",
    "dk_id",
    "start_position",
    "dk_own_pct",
    "fd_salary",
    "fd_id",
]


def _q_driver_race(relationship: str) -> str:
    """MERGE a (Driver)-[relationship]->(Race) per row and set its properties. `row.props` holds
    only the non-null fields: `SET rel += props` never erases (= coalesce)."""
    return f"""
UNWIND $rows AS row
MATCH (d:Driver {{driver_id: row.driver_id}})
MATCH (r:Race {{race_key: row.race_key}})
MERGE (d)-[rel:{relationship}]->(r)
SET rel += row.props
"""


_Q_ENTRIES = _q_driver_race("ENTERED")

_Q_TEAMS = """
UNWIND $rows AS row
MERGE (t:Team {name: row.team})
SET t.manufacturer = coalesce(row.manufacturer, t.manufacturer)
"""

_Q_DROVE_FOR = """
UNWIND $rows AS row
MATCH (d:Driver {driver_id: row.driver_id})
MATCH (t:Team {name: row.team})
MERGE (d)-[:DROVE_FOR {season: row.season}]->(t)
"""

_Q_RESULTS = _q_driver_race("FINISHED")
_RESULT_PROPS = {
    "finish_position": "position",
    "laps_completed": "laps_completed",
    "laps_led": "laps_led",
    "fastest_laps": "fastest_laps",
    "status": "status",
}

_CONTEST_PROPS = [
    "site",
    "name",
    "entry_fee",
    "field_size",
    "max_entries",
    "payouts",
    "winning_score",
    "cash_line",
]
_Q_CONTESTS = (
    """
UNWIND $rows AS row
MATCH (r:Race {race_key: row.race_key})
MERGE (c:Contest {contest_id: row.contest_id})
SET """
    + ",\n    ".join(f"c.{p} = coalesce(row.{p}, c.{p})" for p in _CONTEST_PROPS)
    + """
WITH c, r
OPTIONAL MATCH (c)-[old:FOR]->(o:Race) WHERE o <> r
DELETE old
MERGE (c)-[:FOR]->(r)
"""
)


def _driver_rows(drivers: pd.DataFrame, spellings: pd.DataFrame | None) -> list[dict]:
    """[{driver_id, name, name_date, spellings}]: `name_date` is the latest race date of the
    driver in the file, `spellings` every name the file gives the driver."""
    rows = _records(drivers.drop_duplicates("driver_id"))
    if spellings is None or spellings.empty:
        return rows
    by_driver: dict[int, list[tuple[str, str]]] = {}
    for did, name, date in zip(spellings["driver_id"], spellings["name"], spellings["race_date"]):
        by_driver.setdefault(int(did), []).append((None if pd.isna(date) else date, name))
    for row in rows:
        seen = by_driver.get(row["driver_id"], [])
        dates = [d for d, _ in seen if d is not None]
        row["name_date"] = max(dates) if dates else None
        row["spellings"] = sorted({n for _, n in seen})
    return rows


def _run_batches(tx, query: str, rows: list[dict], summary: WriteSummary) -> None:
    for i in range(0, len(rows), BATCH):
        summary.count(tx.run(query, rows=rows[i : i + BATCH]).consume().counters)


def _prop_rows(df: pd.DataFrame, props: dict[str, str]) -> list[dict]:
    """[{driver_id, race_key, props: {property: value, non-null only}}]"""
    out = []
    for rec in _records(df[["driver_id", "race_key", *props]]):
        out.append(
            {
                "driver_id": rec["driver_id"],
                "race_key": rec["race_key"],
                "props": {p: rec[c] for c, p in props.items() if rec[c] is not None},
            }
        )
    return out


def _team_rows(t: OntologyTables) -> tuple[list[dict], list[dict]]:
    e = t.entries.dropna(subset=["team"])
    if e.empty:
        return [], []
    season = t.races.set_index("race_key")["season"]
    e = e.assign(season=e["race_key"].map(season))
    e = e.dropna(subset=["season"])
    if e.empty:
        return [], []
    # A team's manufacturer: the most common make of its cars in its latest season in the file.
    teams = []
    for team, g in e.sort_values("season").groupby("team", sort=True):
        latest = g[g["season"] == g["season"].max()]["manufacturer"].dropna()
        make = latest.value_counts().sort_index().idxmax() if len(latest) else None
        teams.append({"team": team, "manufacturer": make})
    drove = (
        e[["driver_id", "team", "season"]]
        .drop_duplicates()
        .sort_values(["season", "team", "driver_id"])
    )
    return teams, _records(drove)


# The slate properties a site's salary file owns (see write_in_tx `slate_for`).
SLATE_PROPS = {"draftkings": ("salary", "dk_id"), "fanduel": ("fd_salary", "fd_id")}


def _q_drop_stale_salaries(site: str) -> str:
    a, b = SLATE_PROPS[site]
    return f"""
MATCH (d:Driver)-[e:ENTERED]->(r:Race {{race_key: $key}})
WHERE NOT d.driver_id IN $ids AND (e.{a} IS NOT NULL OR e.{b} IS NOT NULL)
REMOVE e.{a}, e.{b}
WITH e WHERE size(keys(e)) = 0
DELETE e
"""


_Q_DROP_STALE_SALARIES = _q_drop_stale_salaries("draftkings")


def write_in_tx(
    tx,
    tables: OntologyTables,
    source: str = "<tables>",
    slate_for: str | None = None,
    slate_site: str = "draftkings",
) -> WriteSummary:
    """Write `tables` in transaction `tx`. `slate_for`: the tables hold the race's whole
    salary slate of `slate_site`, so drivers of that race missing from it lose that site's
    salary and id (salary/dk_id on DraftKings, fd_salary/fd_id on FanDuel; an entry that held
    nothing else is removed)."""
    spellings = getattr(tables, "spellings", None)
    aliases = _records(tables.aliases) if isinstance(tables, AliasTables) else []
    t = tables.conformed()
    summary = WriteSummary()
    if len(t.races):
        mapping = _resolve_race_keys(tx, t, source)
        summary.race_keys = mapping
        moved = {k: v for k, v in mapping.items() if k != v}
        if moved:
            summary.notes.append(
                "kept existing keys: "
                + ", ".join(f"{k} -> {v}" for k, v in list(moved.items())[:3])
                + (f" and {len(moved) - 3} more" if len(moved) > 3 else "")
            )
            for name in ("races", "entries", "results", "contests"):
                df = getattr(t, name)
                df["race_key"] = df["race_key"].map(lambda k: mapping.get(k, k)).astype("string")
    _check_references(tx, t, source)
    tracks = t.races.dropna(subset=["track_id"]).drop_duplicates("track_id", keep="last")
    _run_batches(
        tx,
        _Q_TRACKS,
        _records(tracks[["track_id", "track_name", "track_type", "track_length_miles"]]),
        summary,
    )
    _run_batches(tx, _Q_RACES, _records(t.races), summary)
    _run_batches(tx, _Q_DRIVERS, _driver_rows(t.drivers, spellings), summary)
    _run_batches(tx, _Q_ALIASES, aliases, summary)
    teams, drove = _team_rows(t)
    _run_batches(tx, _Q_TEAMS, teams, summary)
    _run_batches(tx, _Q_ENTRIES, _prop_rows(t.entries, {p: p for p in _ENTRY_PROPS}), summary)
    _run_batches(tx, _Q_DROVE_FOR, drove, summary)
    _run_batches(tx, _Q_RESULTS, _prop_rows(t.results, _RESULT_PROPS), summary)
    _run_batches(tx, _Q_CONTESTS, _records(t.contests), summary)
    if slate_for is not None:
        ids = [int(i) for i in t.entries.loc[t.entries["race_key"] == slate_for, "driver_id"]]
        c = tx.run(_q_drop_stale_salaries(slate_site), key=slate_for, ids=ids).consume().counters
        summary.count(c)
        if c.properties_set:
            summary.notes.append("removed salaries of drivers no longer on the slate")
    summary.rows = {name: len(getattr(t, name)) for name in TABLE_COLUMNS}
    summary.rows["aliases"] = len(aliases)
    if len(t.loop_stats):
        write_loop_stats_in_tx(tx, t.loop_stats, summary)
    return summary


def ingest(
    driver,
    build: Callable[[GraphView], OntologyTables],
    source: str = "<tables>",
    database: str | None = None,
    slate_for: str | None = None,
    slate_site: str = "draftkings",
) -> WriteSummary:
    """Build the tables (reads allowed through the GraphView) and write them, all in one
    write transaction: a UserInputError anywhere writes nothing."""
    from nascar_pipeline.ontology.schema import ensure_schema

    ensure_schema(driver, database)

    def work(tx):
        return write_in_tx(
            tx, build(GraphView(tx)), source, slate_for=slate_for, slate_site=slate_site
        )

    with driver.session(database=database, notifications_min_severity="OFF") as session:
        return _write_once(session, work, source)


# Neo4j codes of a transaction that outgrew the server's transaction memory: a retry cannot help.
_OUT_OF_MEMORY = ("MemoryPoolOutOfMemoryError", "TransactionOutOfMemoryError")
TRANSIENT_RETRIES = 3


def _write_once(session, work, source: str):
    """Run `work(tx)` in one explicit write transaction and commit it: all or nothing. A
    transient error (a deadlock, a leader switch) is retried a few times; running out of
    transaction memory is reported at once, with what to do, instead of retried for a minute."""
    import time

    from neo4j.exceptions import Neo4jError, TransientError

    for attempt in range(TRANSIENT_RETRIES + 1):
        try:
            with session.begin_transaction() as tx:
                out = work(tx)
                tx.commit()
                return out
        except Neo4jError as exc:
            code = exc.code or ""
            if any(name in code for name in _OUT_OF_MEMORY):
                raise UserInputError(
                    f"file {source}: Neo4j ran out of transaction memory writing it in one "
                    f"transaction ({exc.message}); nothing was written. A 100,000-row history "
                    "needs about 0.5 GiB of transaction memory: give Neo4j more heap "
                    "(scripts/neo4j-local.sh: NEO4J_HEAP, default 2g) or split the file "
                    "(e.g. one history file per season)"
                ) from None
            if not isinstance(exc, TransientError) or attempt == TRANSIENT_RETRIES:
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def write_tables(
    driver, tables: OntologyTables, source: str = "<tables>", database: str | None = None
) -> WriteSummary:
    return ingest(driver, lambda _view: tables, source, database)


# --- the player's own numbers (`ingest projections`) -----------------------------------------

USER_NUMBER_PROPS = ("user_proj_points", "user_proj_floor", "user_proj_ceiling", "user_own_pct")

_Q_RACE_ENTRY_IDS = """
MATCH (d:Driver)-[e:ENTERED]->(:Race {race_key: $key})
RETURN d.driver_id AS driver_id, e.dk_id AS dk_id, e.fd_id AS fd_id
"""

# A projections file is the race's whole set of user numbers: every entry loses the old ones,
# then the file's rows set theirs (drivers missing from the file are left with nulls).
_Q_CLEAR_USER_NUMBERS = "MATCH (:Driver)-[e:ENTERED]->(:Race {race_key: $key}) REMOVE " + ", ".join(
    f"e.{p}" for p in USER_NUMBER_PROPS
)
_Q_SET_USER_NUMBERS = """
UNWIND $rows AS row
MATCH (:Driver {driver_id: row.driver_id})-[e:ENTERED]->(:Race {race_key: $key})
SET e += row.props
"""


def race_entry_ids(tx, race_key: str) -> pd.DataFrame:
    """The race's entry list with its DraftKings and FanDuel ids (driver_id, dk_id, fd_id)."""
    rows = [r.data() for r in tx.run(_Q_RACE_ENTRY_IDS, key=race_key)]
    return pd.DataFrame(rows, columns=["driver_id", "dk_id", "fd_id"])


def write_user_numbers_in_tx(tx, race_key: str, entries: pd.DataFrame) -> WriteSummary:
    """Replace the race's user numbers (USER_NUMBER_PROPS on its ENTERED relationships) with
    `entries` (race_key, driver_id and those columns; nulls stay unset) in transaction `tx`."""
    summary = WriteSummary()
    summary.count(tx.run(_Q_CLEAR_USER_NUMBERS, key=race_key).consume().counters)
    rows = _prop_rows(entries, {p: p for p in USER_NUMBER_PROPS})
    _run_batches_keyed(tx, _Q_SET_USER_NUMBERS, rows, race_key, summary)
    summary.rows = {"entries": len(entries)}
    return summary


def _run_batches_keyed(tx, query: str, rows: list[dict], key: str, summary: WriteSummary) -> None:
    for i in range(0, len(rows), BATCH):
        summary.count(tx.run(query, rows=rows[i : i + BATCH], key=key).consume().counters)


def ingest_user_numbers(
    driver,
    build: Callable[[GraphView], OntologyTables],
    race_key: str,
    source: str,
    database: str | None = None,
) -> WriteSummary:
    """Build the user numbers (reads through the GraphView) and replace the race's previous
    ones, all in one write transaction: a UserInputError anywhere changes nothing."""
    from nascar_pipeline.ontology.schema import ensure_schema

    ensure_schema(driver, database)

    def work(tx):
        tables = build(GraphView(tx))
        return write_user_numbers_in_tx(tx, race_key, tables.entries)

    with driver.session(database=database, notifications_min_severity="OFF") as session:
        return _write_once(session, work, source)


# --- loop data (`ingest loopdata`) -------------------------------------------------------------
# (Driver)-[:RAN_LOOP {start_of_day, series, race_date, track_name, the statistics}]->(x): x is
# the (:Race) for a Cup start of a race in the ontology, else a (:SeriesRaceDay {race_day_id,
# series, race_date, track_name}) (lower series, Cup exhibitions): one relationship type with
# the same properties for every start, so `MATCH (d:Driver)-[l:RAN_LOOP]->()` reads a driver's
# whole record and `(:Driver)-[:RAN_LOOP]->(:Race {race_key: $k})` a race's, beside FINISHED.
# Lower-series races are not Races (no race key, entries or DFS): a day node per series and
# track, not a Race, keeps list_races and the sensors blind to them. A re-ingest replaces each
# start's properties (`SET l = props`): the loop data of a start is one record.

LOOP_PROPS = [
    c for c in LOOP_STATS_COLUMNS if c not in ("race_key", "race_id", "driver_id", "start_of_day")
]

_Q_LOOP_DAYS = """
UNWIND $rows AS row
MERGE (s:SeriesRaceDay {race_day_id: row.race_day_id})
SET s.series = row.series, s.race_date = row.race_date, s.track_name = row.track_name
"""

_Q_LOOP_RACE = """
UNWIND $rows AS row
MATCH (d:Driver {driver_id: row.driver_id})
MATCH (r:Race {race_key: row.race_key})
MERGE (d)-[l:RAN_LOOP {start_of_day: row.start_of_day}]->(r)
SET l = row.props, l.start_of_day = row.start_of_day
"""

_Q_LOOP_DAY = """
UNWIND $rows AS row
MATCH (d:Driver {driver_id: row.driver_id})
MATCH (s:SeriesRaceDay {race_day_id: row.race_day_id})
MERGE (d)-[l:RAN_LOOP {start_of_day: row.start_of_day}]->(s)
SET l = row.props, l.start_of_day = row.start_of_day
"""


def race_day_id(series: str, race_date: str, track_name: str) -> str:
    """The SeriesRaceDay key: series, date and track name (as given)."""
    return f"{series}|{race_date}|{track_name}"


def write_loop_stats_in_tx(tx, loop: pd.DataFrame, summary: WriteSummary) -> None:
    """MERGE the loop_stats rows (LOOP_STATS_COLUMNS; Cup rows with race_key resolved) as
    RAN_LOOP relationships (see above). Drivers and races must exist."""
    rows = []
    for rec in _records(loop):
        row = {
            "driver_id": rec["driver_id"],
            "start_of_day": rec["start_of_day"],
            "props": {p: rec[p] for p in LOOP_PROPS if rec[p] is not None},
        }
        if rec["race_key"] is not None:
            row["race_key"] = rec["race_key"]
            row["props"]["race_id"] = rec["race_id"]
        else:
            row["race_day_id"] = race_day_id(rec["series"], rec["race_date"], rec["track_name"])
        rows.append(row)
    at_race = [r for r in rows if "race_key" in r]
    on_day = [r for r in rows if "race_day_id" in r]
    days = {r["race_day_id"]: r["props"] for r in on_day}
    _run_batches(
        tx,
        _Q_LOOP_DAYS,
        [
            {
                "race_day_id": k,
                "series": p["series"],
                "race_date": p["race_date"],
                "track_name": p["track_name"],
            }
            for k, p in days.items()
        ],  # fmt: skip
        summary,
    )
    _run_batches(tx, _Q_LOOP_RACE, at_race, summary)
    _run_batches(tx, _Q_LOOP_DAY, on_day, summary)
    summary.rows["loop_stats"] = len(rows)
