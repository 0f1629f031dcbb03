"""Neo4j schema of the race ontology: uniqueness constraints and indexes, all IF NOT EXISTS."""

from __future__ import annotations

CONSTRAINTS = {
    "driver_id_unique": ("Driver", "driver_id"),
    "race_key_unique": ("Race", "race_key"),
    "race_id_unique": ("Race", "race_id"),
    "track_id_unique": ("Track", "track_id"),
    "team_name_unique": ("Team", "name"),
    "contest_id_unique": ("Contest", "contest_id"),
    "series_race_day_unique": ("SeriesRaceDay", "race_day_id"),  # loop data of lower series
}
INDEXES = {
    "race_date_index": ("Race", "race_date"),
    "race_status_index": ("Race", "status"),
}


def schema_statements() -> list[str]:
    out = [
        f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE n.{prop} IS UNIQUE"
        for name, (label, prop) in CONSTRAINTS.items()
    ]
    out += [
        f"CREATE INDEX {name} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})"
        for name, (label, prop) in INDEXES.items()
    ]
    return out


def ensure_schema(driver, database: str | None = None) -> int:
    """Create the constraints and indexes that are missing; returns how many were created."""
    created = 0
    with driver.session(database=database, notifications_min_severity="OFF") as session:
        for stmt in schema_statements():
            c = session.run(stmt).consume().counters
            created += c.constraints_added + c.indexes_added
    return created
