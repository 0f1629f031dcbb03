"""NASCAR weekend feed JSON (+ optional loopstats JSON) -> OntologyTables.

weekend-feed.json: `weekend_race[]`, each a race with race_id, race_season, race_name,
track_name, date_scheduled (or race_date; local US Eastern time: race_date is its day,
lock_time its UTC instant), scheduled_laps, actual_laps and `results[]` (driver_id,
driver_fullname, car_number, team_name, car_make, starting_position, finishing_position,
laps_led, laps_completed, finishing_status). Only Cup races (series_id 1, or no series_id) are
read. A race whose results carry finishing positions is `final` (entries + results); one
without results is `scheduled`; results with no finishing positions yet (all 0) give entries only.
loopstats JSON: a list of races `{race_id, drivers: [{driver_id, fast_laps, ...}]}` (or one such
object): `fast_laps` becomes the result's `fastest_laps` (null for a driver the loop data
lacks); loop data for none of the feed's races, or a loopstats driver who is not in that race's
results, is an error; loop data of other races in the same file is ignored.
Track type/length come from parsers/tracks.py.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nascar_pipeline.core.tables import conform
from nascar_pipeline.ontology.parsers import limits
from nascar_pipeline.ontology.parsers._common import (
    Problems,
    assign_race_keys,
    check_permutation,
    json_objects,
    parse_car_number,
    parse_int,
    parse_text,
    read_json,
)
from nascar_pipeline.ontology.parsers._feed_race import feed_race_fields
from nascar_pipeline.ontology.parsers.spellings import SpelledTables, Spellings


def parse_loopstats(path: str | Path) -> dict[int, dict[int, tuple[int, str]]]:
    """{race_id: {driver_id: (fast_laps, field path)}}"""
    data = read_json(path)
    probs = Problems(path)
    races = data if isinstance(data, list) else [data]
    out: dict[int, dict[int, tuple[int, str]]] = {}
    for i, race in enumerate(races):
        w = f"[{i}]"
        if not isinstance(race, dict) or not isinstance(race.get("drivers"), list):
            probs.add(f"field {w}", "expected an object with race_id and a drivers list")
            continue
        rid = parse_int(race.get("race_id"), probs, f"field {w}", "race_id", minimum=limits.ID[0])
        drivers: dict[int, tuple[int, str]] = {}
        for f, d in json_objects(race["drivers"], probs, f"field {w}.drivers"):
            did = parse_int(d.get("driver_id"), probs, f, "driver_id", minimum=limits.ID[0])
            fl = parse_int(
                d.get("fast_laps"), probs, f, "fast_laps", minimum=0, maximum=limits.LAPS[1]
            )
            if did is not None and did in drivers:
                probs.add(f"{f}, field driver_id", f"duplicate driver {did}")
            if did is not None and fl is not None:
                drivers[did] = (fl, f)
        if rid is not None:
            out[rid] = drivers
    probs.raise_if_any()
    return out


def parse_feed(path: str | Path, loopstats: str | Path | None = None) -> SpelledTables:
    data = read_json(path)
    probs = Problems(path)
    if not isinstance(data, dict) or not isinstance(data.get("weekend_race"), list):
        probs.fail(
            "field weekend_race", "missing: expected a weekend feed with a weekend_race list"
        )
    fast = parse_loopstats(loopstats) if loopstats else {}
    fast_all = set(fast)
    lprobs = Problems(loopstats or "")
    races, entries, results = [], [], []
    spellings = Spellings()
    for w, race in json_objects(data["weekend_race"], probs, "field weekend_race"):
        if race.get("series_id") not in (None, 1):
            continue
        fields = feed_race_fields(race, probs, w)
        rid = fields["race_id"]
        res = race.get("results") or []
        if not isinstance(res, list):
            probs.add(f"{w}, field results", "expected a list")
            res = []
        final = bool(res) and any(isinstance(r, dict) and r.get("finishing_position") for r in res)
        laps = (
            parse_int(
                race.get("actual_laps"),
                probs,
                w,
                "actual_laps",
                required=False,
                minimum=0,
                maximum=limits.LAPS[1],
            )
            if final
            else None
        )
        races.append(
            {
                **fields,
                "laps": laps or None,
                "status": "final" if final else "scheduled",
            }
        )
        loop = fast.pop(rid, None) if rid is not None else None
        seen: set[int] = set()
        positions = []
        for f, r in json_objects(res, probs, f"{w}.results"):
            did = parse_int(r.get("driver_id"), probs, f, "driver_id", minimum=limits.ID[0])
            if did is not None and did in seen:
                probs.add(f"{f}, field driver_id", f"duplicate driver {did}")
            seen.add(did)
            dname = parse_text(r.get("driver_fullname"), probs, f, "driver_fullname")
            spellings.add(did, dname, fields["race_date"])
            entry = {
                "race_id": rid,
                "driver_id": did,
                "car_number": parse_car_number(r.get("car_number"), probs, path, f, "car_number"),
                "team": (str(r.get("team_name") or "").strip() or None),
                "manufacturer": (str(r.get("car_make") or "").strip() or None),
                "start_position": parse_int(
                    r.get("starting_position"),
                    probs,
                    f,
                    "starting_position",
                    required=False,
                    minimum=limits.GRID_POSITION[0],
                    maximum=limits.GRID_POSITION[1],
                )
                or None,
            }
            entries.append(entry)
            if final:
                pos = parse_int(
                    r.get("finishing_position"),
                    probs,
                    f,
                    "finishing_position",
                    minimum=limits.POSITION[0],
                    maximum=limits.POSITION[1],
                )
                positions.append((f, pos))
                fl = None
                if loop is not None and did is not None:
                    fl = loop.pop(did, (None, ""))[0]
                results.append(
                    {
                        "race_id": rid,
                        "driver_id": did,
                        "finish_position": pos,
                        "laps_completed": parse_int(
                            r.get("laps_completed"),
                            probs,
                            f,
                            "laps_completed",
                            minimum=0,
                            maximum=limits.LAPS[1],
                        ),
                        "laps_led": parse_int(
                            r.get("laps_led"),
                            probs,
                            f,
                            "laps_led",
                            minimum=0,
                            maximum=limits.LAPS[1],
                        ),
                        "fastest_laps": fl,
                        "status": (
                            parse_text(r.get("finishing_status"), probs, f, "finishing_status")
                            or ""
                        ).lower()
                        or None,
                    }
                )
        if final:
            check_permutation(
                [(p[0].rsplit("[", 1)[-1].rstrip("]"), p[1]) for p in positions],
                probs,
                f"{w}.results",
                "finishing_position",
            )
        for did, (_, lf) in (loop or {}).items():
            lprobs.add(lf, f"driver {did} is not in the results of race {rid} in {path}")
    feed_ids = {r["race_id"] for r in races}
    if fast and not (set(fast_all) & feed_ids):
        lprobs.add(
            "field race_id",
            f"loop data for race(s) {', '.join(map(str, sorted(fast)))}"
            f", none of which is in the weekend feed {path} (race(s) "
            f"{', '.join(map(str, sorted(feed_ids)))})",
        )
    probs.raise_if_any()
    lprobs.raise_if_any()
    if not races:
        probs.fail("field weekend_race", "no Cup race (series_id 1) in the feed")
    races_df = pd.DataFrame(races)
    dup = races_df["race_id"].duplicated()
    if dup.any():
        probs.fail("field weekend_race", f"race {races_df['race_id'][dup].iloc[0]} repeats")
    races_df["race_key"] = assign_race_keys(races_df)
    key_of = dict(zip(races_df["race_id"], races_df["race_key"]))
    ent = pd.DataFrame(entries, columns=["race_id", "driver_id"] if not entries else None)
    res_df = pd.DataFrame(results, columns=["race_id", "driver_id"] if not results else None)
    for df in (ent, res_df):
        df["race_key"] = df["race_id"].map(key_of) if len(df) else pd.Series(dtype="string")
    return SpelledTables(
        races=conform("races", races_df),
        drivers=conform("drivers", spellings.drivers()),
        entries=conform("entries", ent),
        results=conform("results", res_df),
        spellings=spellings.table(),
    )
