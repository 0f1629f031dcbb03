"""A player's own projections (and, optionally, ownership) for one race -> entries with
user_proj_points, user_proj_floor, user_proj_ceiling, user_own_pct.

A CSV with a header. Column names are matched ignoring case, spaces, `_`, `-` and `%`, so the
common vendor layouts load as exported:

- the driver (at least one): a name column `Name` | `Driver` | `Player` | `driver_name`, or an
  id column `ID` | `dk_id` (DraftKings player id, as in DKSalaries.csv) | `fd_id` (FanDuel
  player id `<slate>-<player>`; an `ID`/`Id` column holding FanDuel ids is read as FanDuel's).
  An id is looked up on the race's slate; a name through names.py (aliases, accents, suffixes;
  an unknown name gets "did you mean ..."). Given both, they must name the same driver.
- mean DK points (required): `proj_points` | `Projection` | `FPTS` | `Proj` | `Points` |
  `projected_points`.
- optional: `floor`, `ceiling` (DK points), `own_pct` | `Ownership` | `proj_own` | `Own`
  (projected ownership in %, 0..100, `12.5%` or `12.5`).

Checks (every problem of the file in one error, nothing stored): each driver once (by name, id
and matched driver); mean 0..MAX_POINTS; floor <= mean <= ceiling; ownership 0..100; every
driver known and on the race's entry list. A row without a mean is an error; an empty optional
cell is null.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from nascar_pipeline.core.tables import OntologyTables, conform
from nascar_pipeline.ontology.parsers import limits
from nascar_pipeline.ontology.parsers._common import CsvTable, parse_float, parse_int
from nascar_pipeline.ontology.parsers._slate import report_unmatched
from nascar_pipeline.ontology.parsers.names import NameMatcher, name_key

# Header spellings (normalized: lower case, letters and digits only) of each field.
NAME_COLUMNS = ("name", "driver", "player", "drivername", "playername")
DK_ID_COLUMNS = ("id", "dkid", "draftkingsid")
FD_ID_COLUMNS = ("fdid", "fanduelid")
MEAN_COLUMNS = ("projpoints", "projection", "fpts", "proj", "points", "projectedpoints")
FLOOR_COLUMNS = ("floor",)
CEILING_COLUMNS = ("ceiling", "ceil")
OWN_COLUMNS = ("ownpct", "ownership", "projown", "own", "projectedownership")

# A DK points bound no driver's mean, floor or ceiling can pass (the real maximum of a Cup
# start 2019-2025 is 188.45); the floor may be negative (the pole sitter finishing last).
MAX_POINTS = 300.0
MIN_FLOOR = -60.0
FD_ID_RE = re.compile(r"^\d+-\d+$")


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def _find(header: list[str], names: tuple[str, ...]) -> str | None:
    """The first header cell whose normalized text is one of `names` (in `names` order)."""
    by_norm: dict[str, str] = {}
    for h in header:
        by_norm.setdefault(_norm(h), h)
    return next((by_norm[n] for n in names if n in by_norm), None)


def _ids(entries: pd.DataFrame, col: str) -> dict:
    if col not in entries:
        return {}
    e = entries.dropna(subset=[col])
    if col == "dk_id":
        return {int(v): int(d) for v, d in zip(e[col], e["driver_id"])}
    return {str(v): int(d) for v, d in zip(e[col], e["driver_id"])}


def parse_projections(
    path: str | Path,
    race_key: str,
    known_drivers: pd.DataFrame,
    race_entries: pd.DataFrame,
) -> OntologyTables:
    """race_entries: the race's entry list (driver_id, dk_id, fd_id; ids may be null)."""
    raw = CsvTable(path, [])
    probs = raw.probs
    name_col = _find(raw.header, NAME_COLUMNS)
    dk_col = _find(raw.header, DK_ID_COLUMNS)
    fd_col = _find(raw.header, FD_ID_COLUMNS)
    mean_col = _find(raw.header, MEAN_COLUMNS)
    floor_col = _find(raw.header, FLOOR_COLUMNS)
    ceil_col = _find(raw.header, CEILING_COLUMNS)
    own_col = _find(raw.header, OWN_COLUMNS)
    missing = []
    if not (name_col or dk_col or fd_col):
        missing.append("a driver column (Name, Driver, Player, ID, dk_id or fd_id)")
    if not mean_col:
        missing.append("a projection column (proj_points, Projection or FPTS)")
    if missing:
        probs.fail(
            "line 1 (header)", f"missing {' and '.join(missing)}; found: {', '.join(raw.header)}"
        )
    entrants = {int(d) for d in race_entries["driver_id"].dropna()}
    by_dk, by_fd = _ids(race_entries, "dk_id"), _ids(race_entries, "fd_id")
    matcher = NameMatcher(known_drivers, entrants)
    seen_names: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    seen_drivers: dict[int, int] = {}
    unmatched: list[tuple[str, int, str]] = []
    n_unmatched = 0
    rows = []
    for rec in raw.records():
        line = rec["_line"]
        w = f"line {line}"
        name = rec.get(name_col, "") if name_col else ""
        did = None
        id_text = next((rec[c] for c in (fd_col, dk_col) if c and rec.get(c)), "")
        id_field = fd_col if fd_col and rec.get(fd_col) else dk_col
        if id_text:
            if id_text in seen_ids:
                probs.add(f"{w}, field {id_field}",
                          f"duplicate id {id_text} (also line {seen_ids[id_text]})")  # fmt: skip
                continue
            seen_ids[id_text] = line
            did = _driver_by_id(id_text, id_field, by_dk, by_fd, probs, w, race_key)
            if did is None:
                continue
        if name:
            key = name_key(name)
            if key in seen_names:
                probs.add(f"{w}, field {name_col}",
                          f"duplicate driver {name[:60]!r} (also line {seen_names[key]})")  # fmt: skip
                continue
            seen_names[key] = line
            by_name, why = matcher.match(name)
            if did is None and by_name is None:
                n_unmatched += 1
                if len(unmatched) < limits.MAX_LISTED:
                    unmatched.append((name, line, why))
                continue
            if did is not None and by_name is not None and by_name != did:
                probs.add(
                    f"{w}, field {name_col}",
                    f"{name[:60]!r} is driver {by_name}, but {id_field} {id_text} is driver {did}",
                )
                continue
            did = did if did is not None else by_name
        if did is None:
            probs.add(f"{w}, field {name_col or id_field}", "missing value (no driver)")
            continue
        if did not in entrants:
            probs.add(
                f"{w}, field {name_col or id_field}",
                f"{(name or id_text)[:60]!r} (driver {did}) is not on the entry list of "
                f"race {race_key} (ingest its weekend feed or schedule entries first)",
            )
            continue
        if did in seen_drivers:
            probs.add(
                f"{w}, field {name_col or id_field}",
                f"the same driver ({did}) as line {seen_drivers[did]}",
            )
            continue
        seen_drivers[did] = line
        row = _numbers(rec, w, probs, mean_col, floor_col, ceil_col, own_col)
        if row is not None:
            rows.append({"race_key": race_key, "driver_id": did, **row})
    if not raw.rows_read and not probs:
        probs.fail("line 2", "no drivers")
    report_unmatched(probs, name_col or "Name", unmatched, n_unmatched, matcher)
    probs.raise_if_any()
    return OntologyTables(entries=conform("entries", pd.DataFrame(rows)))


def _driver_by_id(text, field, by_dk, by_fd, probs, where, race_key) -> int | None:
    """The race entrant a DraftKings or FanDuel player id names (FanDuel ids look like
    `<slate>-<player>`), else a problem and None."""
    if FD_ID_RE.match(text):
        did = by_fd.get(text)
        site = "FanDuel"
    else:
        pid = parse_int(text, probs, where, field, minimum=limits.ID[0])
        if pid is None:
            return None
        did = by_dk.get(pid)
        site = "DraftKings"
    if did is None:
        probs.add(
            f"{where}, field {field}",
            f"{site} id {text} is not on race {race_key}'s {site} slate "
            f"(ingest its {'DKSalaries' if site == 'DraftKings' else 'FanDuel players'} file "
            "first, or name the driver)",
        )
    return did


def _numbers(rec, where, probs, mean_col, floor_col, ceil_col, own_col) -> dict | None:
    before = probs.count
    mean = parse_float(rec.get(mean_col), probs, where, mean_col, minimum=0.0,
                       maximum=MAX_POINTS)  # fmt: skip
    floor = ceiling = own = None
    if floor_col:
        floor = parse_float(rec.get(floor_col), probs, where, floor_col, required=False,
                            minimum=MIN_FLOOR, maximum=MAX_POINTS)  # fmt: skip
    if ceil_col:
        ceiling = parse_float(rec.get(ceil_col), probs, where, ceil_col, required=False,
                              minimum=0.0, maximum=MAX_POINTS)  # fmt: skip
    if own_col:
        own = parse_float(rec.get(own_col), probs, where, own_col, required=False,
                          minimum=limits.PERCENT[0], maximum=limits.PERCENT[1])  # fmt: skip
    if mean is not None and floor is not None and floor > mean:
        probs.add(f"{where}, field {floor_col}", f"floor {floor:g} is above the mean {mean:g}")
    if mean is not None and ceiling is not None and ceiling < mean:
        probs.add(f"{where}, field {ceil_col}", f"ceiling {ceiling:g} is below the mean {mean:g}")
    if probs.count > before:
        return None
    return {
        "user_proj_points": mean,
        "user_proj_floor": floor,
        "user_proj_ceiling": ceiling,
        "user_own_pct": own,
    }
