"""RaceSource over the Neo4j ontology.

`race_inputs` reads the race, the entries of it and of every earlier race, the results of
earlier races, the drivers and the race's contests as normalized tables (one read transaction,
six small queries) and hands them to `assemble_race_inputs`: the one definition of a race's
inputs, shared with the embedded world, so both sources return identical RaceInputs.

`list_races` is ONE query (the Dagster sensor polls it): every race with its track, the slate
fields of its entries, its contests and whether it has results. `content_hash` is computed in
Python by `fast_slate_hash`, a dependency-free replica of core.snapshot.slate_hash (same JSON
payload: every value as pandas' "string" dtype renders it, "" for null, entries sorted by the
text of driver_id) and tested equal to it; no pandas work per race, so 1,000 races cost one
query and a few milliseconds of hashing.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from nascar_pipeline.core.race_inputs import (
    UnknownRaceError,
    assemble_race_inputs,
    race_results_from_tables,
)
from nascar_pipeline.core.snapshot import (
    SLATE_ENTRY_COLUMNS,
    USER_NUMBER_COLUMNS,
    without_blank_user_numbers,
)
from nascar_pipeline.core.tables import (
    CONTEST_RESULT_COLUMNS,
    CONTESTS_COLUMNS,
    LOOP_STATS_COLUMNS,
    RACES_COLUMNS,
    OntologyTables,
    RaceInputs,
    conform,
)

_RACE_RETURN = """
  r.race_key AS race_key, r.race_id AS race_id, r.season AS season, r.race_date AS race_date,
  r.race_name AS race_name, t.track_id AS track_id, t.name AS track_name,
  t.type AS track_type, t.length_miles AS track_length_miles,
  r.scheduled_laps AS scheduled_laps, r.laps AS laps, r.lock_time AS lock_time,
  r.status AS status"""

_Q_RACE = (
    """
MATCH (r:Race {race_key: $key})
OPTIONAL MATCH (r)-[:AT]->(t:Track)
RETURN"""
    + _RACE_RETURN
)

_Q_PRIOR_RACES = (
    """
MATCH (r:Race) WHERE r.race_date < $date
OPTIONAL MATCH (r)-[:AT]->(t:Track)
RETURN"""
    + _RACE_RETURN
)

_Q_ENTRIES = """
MATCH (d:Driver)-[e:ENTERED]->(r:Race)
WHERE r.race_key = $key OR r.race_date < $date
RETURN r.race_key AS race_key, d.driver_id AS driver_id, e.car_number AS car_number,
       e.team AS team, e.manufacturer AS manufacturer, e.salary AS salary, e.dk_id AS dk_id,
       e.start_position AS start_position, e.dk_own_pct AS dk_own_pct,
       e.fd_salary AS fd_salary, e.fd_id AS fd_id,
       e.user_proj_points AS user_proj_points, e.user_proj_floor AS user_proj_floor,
       e.user_proj_ceiling AS user_proj_ceiling, e.user_own_pct AS user_own_pct
"""

_Q_RESULTS = """
MATCH (d:Driver)-[f:FINISHED]->(r:Race)
WHERE r.race_date < $date
RETURN r.race_key AS race_key, d.driver_id AS driver_id, f.position AS finish_position,
       f.laps_completed AS laps_completed, f.laps_led AS laps_led,
       f.fastest_laps AS fastest_laps, f.status AS status
"""

_Q_DRIVERS = "MATCH (d:Driver) RETURN d.driver_id AS driver_id, d.name AS name"

# Loop data of starts before the race's date, every series (ontology/writer.py: RAN_LOOP).
_LOOP_FIELDS = ", ".join(
    f"l.{c} AS {c}"
    for c in LOOP_STATS_COLUMNS
    if c not in ("driver_id", "race_key", "start_of_day")
)
_Q_LOOP = f"""
MATCH (d:Driver)-[l:RAN_LOOP]->(x) WHERE l.race_date < $date
RETURN d.driver_id AS driver_id, x.race_key AS race_key, l.start_of_day AS start_of_day,
       {_LOOP_FIELDS}
"""

_Q_RACE_DRIVERS = """
MATCH (d:Driver)-[:ENTERED|FINISHED]->(:Race {race_key: $key})
RETURN DISTINCT d.driver_id AS driver_id, d.name AS name
"""

_Q_RACE_RESULTS = """
MATCH (d:Driver)-[f:FINISHED]->(r:Race {race_key: $key})
RETURN r.race_key AS race_key, d.driver_id AS driver_id, f.position AS finish_position,
       f.laps_completed AS laps_completed, f.laps_led AS laps_led,
       f.fastest_laps AS fastest_laps, f.status AS status
"""

_Q_CONTESTS = """
MATCH (c:Contest)-[:FOR]->(r:Race {race_key: $key})
RETURN c.contest_id AS contest_id, r.race_key AS race_key, c.site AS site, c.name AS name,
       c.entry_fee AS entry_fee, c.field_size AS field_size, c.max_entries AS max_entries,
       c.payouts AS payouts, c.winning_score AS winning_score, c.cash_line AS cash_line
"""

_Q_LIST = (
    """
MATCH (r:Race)
OPTIONAL MATCH (r)-[:AT]->(t:Track)
RETURN"""
    + _RACE_RETURN
    + """,
  COLLECT { MATCH (d:Driver)-[e:ENTERED]->(r)
            RETURN [d.driver_id, e.car_number, e.salary, e.dk_id, e.start_position,
                    e.fd_salary, e.fd_id, e.user_proj_points, e.user_proj_floor,
                    e.user_proj_ceiling, e.user_own_pct] } AS slate,
  COLLECT { MATCH (c:Contest)-[:FOR]->(r)
            RETURN [c.contest_id, r.race_key, c.site, c.name, c.entry_fee, c.field_size,
                    c.max_entries, c.payouts] } AS contests,
  EXISTS { MATCH (:Driver)-[:FINISHED]->(r) } AS has_results
"""
)


def _text(v) -> str:
    """A value as pandas' "string" dtype renders it (ints, floats, str), "" for null."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    return str(v)


def fast_slate_hash(entries: list[list], contests: list[list]) -> str:
    """core.snapshot.slate_hash for rows from Neo4j: `entries` as [driver_id, car_number,
    salary, dk_id, start_position, fd_salary, fd_id, then optionally the USER_NUMBER_COLUMNS],
    `contests` as CONTESTS_COLUMNS-ordered lists."""
    fields = SLATE_ENTRY_COLUMNS + USER_NUMBER_COLUMNS
    e = sorted(
        (without_blank_user_numbers({f: _text(v) for f, v in zip(fields, row)}) for row in entries),
        key=lambda r: r["driver_id"],
    )
    payload: dict = {"entries": e}
    if contests:
        cols = [c for c in CONTESTS_COLUMNS if c not in CONTEST_RESULT_COLUMNS]
        payload["contests"] = sorted(
            ({c: _text(v) for c, v in zip(cols, row)} for row in contests),
            key=lambda r: r["contest_id"],
        )
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _frame(records, name: str) -> pd.DataFrame:
    return conform(name, pd.DataFrame([r.data() for r in records]))


class Neo4jRaceSource:
    """RaceSource reading the Neo4j ontology through a neo4j.Driver (not owned: the caller
    closes the driver; `close()` here is a no-op unless `owns_driver`)."""

    def __init__(self, driver, database: str | None = None, owns_driver: bool = False):
        self.driver = driver
        self.database = database
        self.owns_driver = owns_driver

    def _read(self, work):
        with self.driver.session(
            database=self.database, default_access_mode="READ", notifications_min_severity="OFF"
        ) as s:
            return s.execute_read(work)

    def race_tables(self, race_key: str) -> OntologyTables:
        """The normalized tables that determine `race_inputs(race_key)`."""

        def work(tx):
            race = list(tx.run(_Q_RACE, key=race_key))
            if not race:
                raise UnknownRaceError(f"unknown race key {race_key!r}")
            date = race[0]["race_date"]
            prior = list(tx.run(_Q_PRIOR_RACES, date=date)) if date is not None else []
            return OntologyTables(
                races=_frame(race + prior, "races"),
                drivers=_frame(tx.run(_Q_DRIVERS), "drivers"),
                entries=_frame(tx.run(_Q_ENTRIES, key=race_key, date=date), "entries"),
                results=_frame(tx.run(_Q_RESULTS, date=date), "results")
                if date is not None
                else conform("results", pd.DataFrame()),
                contests=_frame(tx.run(_Q_CONTESTS, key=race_key), "contests"),
                loop_stats=_frame(tx.run(_Q_LOOP, date=date), "loop_stats")
                if date is not None
                else conform("loop_stats", pd.DataFrame()),
            )

        return self._read(work)

    def race_inputs(self, race_key: str) -> RaceInputs:
        return assemble_race_inputs(self.race_tables(race_key), race_key)

    def race_results(self, race_key: str) -> pd.DataFrame:
        """The race's own results joined with its entries and driver names
        (RACE_RESULTS_COLUMNS via core.race_inputs.race_results_from_tables); empty before
        results."""

        def work(tx):
            race = list(tx.run(_Q_RACE, key=race_key))
            if not race:
                raise UnknownRaceError(f"unknown race key {race_key!r}")
            return OntologyTables(
                races=_frame(race, "races"),
                drivers=_frame(tx.run(_Q_RACE_DRIVERS, key=race_key), "drivers"),
                entries=_frame(tx.run(_Q_ENTRIES, key=race_key, date=""), "entries"),
                results=_frame(tx.run(_Q_RACE_RESULTS, key=race_key), "results"),
            )

        return race_results_from_tables(self._read(work), race_key)

    def list_races(self) -> pd.DataFrame:
        def work(tx):
            return [r.data() for r in tx.run(_Q_LIST)]

        rows = self._read(work)
        races = conform(
            "races",
            pd.DataFrame(rows, columns=[*RACES_COLUMNS, "slate", "contests", "has_results"]),
        )
        races["content_hash"] = [fast_slate_hash(r["slate"], r["contests"]) for r in rows]
        races["has_results"] = [bool(r["has_results"]) for r in rows]
        return races.sort_values(["race_date", "race_key"]).reset_index(drop=True)

    def close(self) -> None:
        if self.owns_driver:
            self.driver.close()
