"""Loop data (NASCAR's per-start running statistics) -> LoopTables: the `loop_stats` table, plus
the drivers the CSV names.

Two layouts (docs/input-formats.md, "Loop data"):
- CSV (history/loopstats.csv): series (Cup, Xfinity or O'Reilly, Truck or Trucks), race_id
  (NASCAR's Cup race id; empty for lower series and unmatched Cup races such as exhibitions),
  race_date, track_name, driver_id, driver_name, status and the statistics below. The
  percentage columns are optional (computed when absent).
- NASCAR's loopstats feed JSON (the `ingest feed --loopstats` file): a list of races
  `{race_id, series_id, drivers: [{driver_id, start_ps, mid_ps, ps, best_ps, worst_ps, avg_ps,
  passes_gf, passing_diff, passed_gf, quality_passes, fast_laps, top15_laps, lead_laps, laps,
  rating}]}`. Race ids, driver ids and fast laps are read by parsers/feed.parse_loopstats (the
  same reading `ingest feed --loopstats` uses); only Cup races (series_id 1 or none) can come
  from the feed: it carries no date or track, which are taken from the race in the graph.

Checks: every number typed and range-checked (parsers/limits.py); positions 1..100 and the
mid-race, best and average running positions within the race's field (its rows, or its largest
start/finish position where the file lacks a car's row); best <= worst running position (the
finishing position may lie outside them: they are running positions at the line); laps led and
fastest laps within the laps completed; quality passes within the passes; passing differential
= passes - times passed; driver rating 0..150; a percentage is 100 * count / denominator (blank
only when the denominator is 0) and within 0..100, except laps in the top 15, which NASCAR
counts for a lap the driver did not complete (above 100 % in 69 real rows, all consistent).
One row per (race, driver) for Cup rows with a race id. Rows without a race id are identified
by (series, date, track, driver, start_of_day): the n-th row of a driver that day is his n-th
start (doubleheaders, heat races; list a day's races in order).
Against the graph (in the write transaction, `resolve_loop_races`; an embedded world from
history files does the same against its races, `key_loop_rows`): a Cup race id must be a race of
the ontology, on the row's date or one day from it (NASCAR's loop data dates a Saturday-night
race by its UTC day and a race postponed a day by its scheduled one: 48 races of the real
2019-25 file); the row then takes the race's key and date; feed drivers must be known drivers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nascar_pipeline.core.tables import LOOP_STATS_COLUMNS, conform, empty_loop_stats
from nascar_pipeline.ontology.parsers import limits
from nascar_pipeline.ontology.parsers._common import (
    Columns,
    CsvTable,
    Problems,
    json_objects,
    parse_date,
    parse_float,
    parse_int,
    parse_text,
    read_json,
)
from nascar_pipeline.ontology.parsers.feed import parse_loopstats
from nascar_pipeline.ontology.parsers.spellings import SpelledTables, Spellings

# Series names as files spell them -> the series code stored (Xfinity is O'Reilly since 2025).
SERIES = {
    "cup": "cup",
    "xfinity": "xfinity",
    "o'reilly": "xfinity",
    "oreilly": "xfinity",
    "truck": "truck",
    "trucks": "truck",
}
FEED_SERIES = {1: "cup", 2: "xfinity", 3: "truck"}
DRIVER_RATING = (0.0, 150.0)  # NASCAR's rating formula tops out at 150

CSV_REQUIRED = [
    "series",
    "race_id",
    "race_date",
    "track_name",
    "driver_id",
    "driver_name",
    "status",
    "start_position",
    "mid_race_position",
    "finish_position",
    "best_position",
    "worst_position",
    "avg_running_position",
    "green_flag_passing_diff",
    "green_flag_passes",
    "green_flag_times_passed",
    "quality_passes",
    "fastest_laps",
    "laps_in_top15",
    "laps_led",
    "laps_completed",
    "driver_rating",
]
POSITIONS = (
    "start_position",
    "mid_race_position",
    "finish_position",
    "best_position",
    "worst_position",
)
COUNTS = (
    "green_flag_passes",
    "green_flag_times_passed",
    "quality_passes",
    "fastest_laps",
    "laps_in_top15",
    "laps_led",
    "laps_completed",
)
# percentage column -> (count, denominator)
PERCENTAGES = {
    "pct_quality_passes": ("quality_passes", "green_flag_passes"),
    "pct_laps_in_top15": ("laps_in_top15", "laps_completed"),
    "pct_laps_led": ("laps_led", "laps_completed"),
}
# feed JSON field -> loop_stats column (fast_laps is read by feed.parse_loopstats)
FEED_FIELDS = {
    "start_ps": "start_position",
    "mid_ps": "mid_race_position",
    "ps": "finish_position",
    "best_ps": "best_position",
    "worst_ps": "worst_position",
    "passes_gf": "green_flag_passes",
    "passed_gf": "green_flag_times_passed",
    "quality_passes": "quality_passes",
    "top15_laps": "laps_in_top15",
    "lead_laps": "laps_led",
    "laps": "laps_completed",
}


@dataclass
class LoopTables(SpelledTables):
    """SpelledTables whose `loop_stats` rows carry `where` (file row) for graph-check messages;
    `from_feed`: driver ids must already be in the graph (the feed carries no names)."""

    where: list[str] = field(default_factory=list)
    from_feed: bool = False


def _stats(get, probs: Problems, w: str) -> dict:
    """The typed statistics of one start; `get(column)` returns its raw value."""
    out = {}
    for c in POSITIONS:
        out[c] = parse_int(get(c), probs, w, c, minimum=limits.POSITION[0],
                           maximum=limits.POSITION[1])  # fmt: skip
    out["avg_running_position"] = parse_float(
        get("avg_running_position"), probs, w, "avg_running_position",
        minimum=limits.POSITION[0], maximum=limits.POSITION[1],
    )  # fmt: skip
    for c in COUNTS:
        out[c] = parse_int(get(c), probs, w, c, minimum=limits.LAPS[0],
                           maximum=limits.LAPS[1])  # fmt: skip
    out["green_flag_passing_diff"] = parse_int(
        get("green_flag_passing_diff"), probs, w, "green_flag_passing_diff",
        minimum=-limits.LAPS[1], maximum=limits.LAPS[1],
    )  # fmt: skip
    out["driver_rating"] = parse_float(get("driver_rating"), probs, w, "driver_rating",
                                       minimum=DRIVER_RATING[0], maximum=DRIVER_RATING[1])  # fmt: skip
    for pct, (num, den) in PERCENTAGES.items():
        out[pct] = _percentage(get(pct), out[num], out[den], probs, w, pct, num, den)
    _check_row(out, probs, w)
    return out


def _percentage(raw, num, den, probs: Problems, w: str, pct: str, num_c: str, den_c: str):
    """The percentage as given (checked against its counts) or computed when absent."""
    if num is None or den is None:
        return None
    ratio = 100.0 * num / den if den else None
    given = parse_float(raw, probs, w, pct, required=False, minimum=0.0)
    if given is None:
        if raw not in (None, "") and str(raw).strip():
            return None  # already a problem
        return ratio
    if ratio is None:
        probs.add(f"{w}, field {pct}", f"{given} given but {den_c} is 0 (leave it blank)")
    elif abs(given - ratio) > 0.01:
        probs.add(
            f"{w}, field {pct}",
            f"{given:g} is not 100 * {num_c} / {den_c} = {ratio:.4g}",
        )
    elif given > 100 and pct != "pct_laps_in_top15":
        probs.add(f"{w}, field {pct}", f"{given:g} is above 100")
    return given if ratio is not None else None


def _check_row(s: dict, probs: Problems, w: str) -> None:
    def have(*cols):
        return all(s[c] is not None for c in cols)

    if have("best_position", "worst_position") and s["best_position"] > s["worst_position"]:
        probs.add(f"{w}, field best_position",
                  f"{s['best_position']} is behind worst_position {s['worst_position']}")  # fmt: skip
    for c in ("laps_led", "fastest_laps"):
        if have(c, "laps_completed") and s[c] > s["laps_completed"]:
            probs.add(f"{w}, field {c}",
                      f"{s[c]} is above laps_completed {s['laps_completed']}")  # fmt: skip
    if have("quality_passes", "green_flag_passes") and (
        s["quality_passes"] > s["green_flag_passes"]
    ):
        probs.add(f"{w}, field quality_passes",
                  f"{s['quality_passes']} is above green_flag_passes {s['green_flag_passes']}")  # fmt: skip
    if have("green_flag_passing_diff", "green_flag_passes", "green_flag_times_passed") and (
        s["green_flag_passing_diff"] != s["green_flag_passes"] - s["green_flag_times_passed"]
    ):
        probs.add(
            f"{w}, field green_flag_passing_diff",
            f"{s['green_flag_passing_diff']} is not green_flag_passes - "
            f"green_flag_times_passed = {s['green_flag_passes'] - s['green_flag_times_passed']}",
        )


def _check_fields(df: pd.DataFrame, probs: Problems, starters: dict | None = None) -> None:
    """Mid-race, best and average running positions within each race's field: its rows, its
    largest start / finish position, and (`starters`: race id -> cars) its starters in the
    graph (a trimmed feed lists a few drivers of a full field)."""
    text = df[["series", "race_date", "track_name"]].astype("string").fillna("")
    race = (
        df["race_id"]
        .astype("string")
        .fillna(text["series"] + "|" + text["race_date"] + "|" + text["track_name"])
    )
    g = df.groupby(race, sort=False)
    field_size = pd.concat(
        [g["driver_id"].transform("size"), g["start_position"].transform("max"),
         g["finish_position"].transform("max"),
         df["race_id"].map(starters or {}).astype("Float64")], axis=1,
    ).max(axis=1)  # fmt: skip
    for c in ("mid_race_position", "best_position", "avg_running_position"):
        bad = df[c] > field_size
        for where, v, n in zip(df.loc[bad, "_where"], df.loc[bad, c], field_size[bad]):
            probs.add(f"{where}, field {c}", f"{v:g} is beyond the race's field of {int(n)} cars")


def _check_duplicates(df: pd.DataFrame, probs: Problems) -> None:
    keyed = df.dropna(subset=["race_id"])
    dup = keyed.duplicated(["race_id", "driver_id"], keep="first")
    for where, rid, did in keyed.loc[dup, ["_where", "race_id", "driver_id"]].itertuples(
        index=False
    ):
        probs.add(f"{where}, field driver_id", f"duplicate driver {did} in race {rid}")


def _finish(rows: Columns, probs: Problems, spellings: Spellings, from_feed: bool) -> LoopTables:
    probs.raise_if_any()
    if not len(rows):
        probs.fail("line 2" if not from_feed else "field drivers", "no loop data rows")
    df = rows.frame()
    _check_duplicates(df, probs)
    if not from_feed:  # a feed is checked against the race's starters (resolve_loop_races)
        _check_fields(df, probs)
    probs.raise_if_any()
    # the n-th start of a driver that day (doubleheaders, heat races); Cup races by id: 1
    day = ["series", "race_date", "track_name", "driver_id"]
    df["start_of_day"] = (df.groupby(day, sort=False).cumcount() + 1).where(df["race_id"].isna(), 1)
    return LoopTables(
        drivers=spellings.drivers() if not from_feed else LoopTables().drivers,
        spellings=spellings.table(),
        loop_stats=conform_loop(df),
        where=list(df["_where"]),
        from_feed=from_feed,
    )


def conform_loop(df: pd.DataFrame) -> pd.DataFrame:
    return conform("loop_stats", df) if len(df) else empty_loop_stats()


_ROW_FIELDS = (*LOOP_STATS_COLUMNS, "_where")


def parse_loopdata_csv(path: str | Path) -> LoopTables:
    table = CsvTable(path, CSV_REQUIRED)
    probs = table.probs
    rows = Columns(*_ROW_FIELDS, unique=("_where",))
    spellings = Spellings()
    for rec in table.records():
        w = f"line {rec['_line']}"
        raw_series = parse_text(rec["series"], probs, w, "series")
        series = SERIES.get((raw_series or "").lower())
        if raw_series is not None and series is None:
            probs.add(f"{w}, field series",
                      f"{raw_series[:40]!r} is not Cup, Xfinity (O'Reilly) or Truck")  # fmt: skip
        rid = parse_int(rec["race_id"], probs, w, "race_id", required=False,
                        minimum=limits.ID[0])  # fmt: skip
        if rid is not None and series not in (None, "cup"):
            probs.add(f"{w}, field race_id", f"a race id is for Cup rows only ({raw_series})")
        date = parse_date(rec["race_date"], probs, w, "race_date")
        did = parse_int(rec["driver_id"], probs, w, "driver_id", minimum=limits.ID[0])
        spellings.add(did, parse_text(rec["driver_name"], probs, w, "driver_name"), date)
        status = parse_text(rec["status"], probs, w, "status")
        rows.add(
            series=series,
            race_id=rid,
            race_date=date,
            track_name=parse_text(rec["track_name"], probs, w, "track_name"),
            driver_id=did,
            status=status.lower() if status else None,
            **_stats(rec.get, probs, w),
            _where=w,
        )
    return _finish(rows, probs, spellings, from_feed=False)


def parse_loopdata_feed(path: str | Path) -> LoopTables:
    fast = parse_loopstats(path)  # the feed's reading of race ids, drivers and fast laps
    data = read_json(path)
    probs = Problems(path)
    rows = Columns(*_ROW_FIELDS, unique=("_where",))
    for i, race in enumerate(data if isinstance(data, list) else [data]):
        w = f"field [{i}]"
        sid = parse_int(race.get("series_id"), probs, w, "series_id", required=False,
                        minimum=0, maximum=limits.RACE_TYPE[1])  # fmt: skip
        if sid not in (None, 1):
            probs.add(
                f"{w}, field series_id",
                f"{sid} ({FEED_SERIES.get(sid, 'unknown series')}): the feed layout carries "
                "no date or track, so only Cup races (series_id 1) can be read from it; give "
                "lower-series loop data in the CSV layout",
            )
            continue
        rid = int(race["race_id"])
        for f, d in json_objects(race["drivers"], probs, f"{w}.drivers"):
            values = {c: d.get(k) for k, c in FEED_FIELDS.items()}
            values["fastest_laps"] = fast[rid][int(d["driver_id"])][0]
            values["avg_running_position"] = d.get("avg_ps")
            values["green_flag_passing_diff"] = d.get("passing_diff")
            values["driver_rating"] = d.get("rating")
            rows.add(
                series="cup",
                race_id=rid,
                driver_id=int(d["driver_id"]),
                **_stats(values.get, probs, f),
                _where=f,
            )
    return _finish(rows, probs, Spellings(), from_feed=True)


def parse_loopdata(path: str | Path) -> LoopTables:
    """Either layout, told apart by the file's first character ('[' or '{': the feed)."""
    p = Path(path)
    with open(p, "rb") as fh:
        head = fh.read(64).lstrip(b"\xef\xbb\xbf").lstrip()
    if head[:1] in (b"[", b"{"):
        return parse_loopdata_feed(p)
    return parse_loopdata_csv(p)


_Q_RACES_BY_ID = """
UNWIND $ids AS id
MATCH (r:Race {race_id: id})
OPTIONAL MATCH (r)-[:AT]->(t:Track)
RETURN id, r.race_key AS race_key, r.race_date AS race_date, t.name AS track_name,
       COUNT { MATCH (d:Driver)-[:FINISHED|ENTERED]->(r) RETURN DISTINCT d } AS starters
"""


# A Cup row's date may be this many days from its race's (see the module docstring).
LOOP_DATE_TOLERANCE_DAYS = 1


def resolve_loop_races(tables: LoopTables, tx, source: str) -> LoopTables:
    """Fill race_key, date and track of Cup rows from the graph's races (reads in the write
    transaction; key_loop_rows); feed rows' drivers must be in the graph."""
    loop = tables.loop_stats
    ids = sorted({int(i) for i in loop["race_id"].dropna()})
    races = {r["id"]: r for r in tx.run(_Q_RACES_BY_ID, ids=ids)}
    known = None
    if tables.from_feed:
        known = {
            r["id"]
            for r in tx.run(
                "UNWIND $ids AS id MATCH (d:Driver {driver_id: id}) RETURN id",
                ids=sorted({int(i) for i in loop["driver_id"]}),
            )
        }
    return key_loop_rows(
        tables, races, source, known, "the graph (ingest its history or feed first)"
    )


def key_loop_rows(
    tables: LoopTables,
    races: dict,
    source: str,
    known_drivers: set | None = None,
    where_races: str = "the graph",
) -> LoopTables:
    """Cup rows keyed to `races` (race id -> {race_key, race_date, track_name, starters}): a
    race id not there, or a date more than LOOP_DATE_TOLERANCE_DAYS from the race's (or a day
    off onto another race of the file at its track: a doubleheader), is an error naming the
    row; a keyed row takes the race's date (and, where the row lacks it, its track).
    `known_drivers`: with a feed (no names), its driver ids must be among them."""
    loop = tables.loop_stats
    probs = Problems(source)
    if tables.from_feed and known_drivers is None:
        raise ValueError("a feed's rows need the known drivers (known_drivers)")
    # (track, date) of the races the file names: a row dated a day off must not sit on
    # another race's day at its track (a doubleheader's swapped race id)
    race_days = {(r["track_name"], r["race_date"]) for r in races.values()}
    keys, dates, tracks = [], [], []
    for rid, date, track, where in zip(
        loop["race_id"], loop["race_date"], loop["track_name"], tables.where
    ):
        if pd.isna(rid):
            keys.append(None), dates.append(date), tracks.append(track)
            continue
        race = races.get(int(rid))
        if race is None:
            probs.add(f"{where}, field race_id", f"race {rid} is not in {where_races}")
        elif race["race_date"] is None or pd.isna(race["race_date"]):
            probs.add(f"{where}, field race_id", f"race {rid} has no date in {where_races}")
        elif not pd.isna(date) and date != race["race_date"]:
            off = abs((pd.Timestamp(race["race_date"]) - pd.Timestamp(date)).days)
            if off > LOOP_DATE_TOLERANCE_DAYS or (race["track_name"], date) in race_days:
                probs.add(f"{where}, field race_date",
                          f"{date} but race {rid} ran on {race['race_date']}")  # fmt: skip
        keys.append(race["race_key"] if race else None)
        dates.append(race["race_date"] if race else date)
        tracks.append(race["track_name"] if race and pd.isna(track) else track)
    if tables.from_feed:
        for did, where in zip(loop["driver_id"], tables.where):
            if int(did) not in known_drivers:
                probs.add(f"{where}, field driver_id", f"unknown driver {did}")
    probs.raise_if_any()
    checked = loop.assign(_where=tables.where)
    _check_fields(checked, probs, {i: r["starters"] for i, r in races.items()})
    probs.raise_if_any()
    out = loop.assign(race_key=keys, race_date=dates, track_name=tracks)
    tables.loop_stats = conform("loop_stats", out)
    return tables
