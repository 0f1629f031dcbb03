"""The race fields NASCAR's JSON feeds share (weekend feed, season schedule)."""

from __future__ import annotations

from nascar_pipeline.ontology.parsers import limits
from nascar_pipeline.ontology.parsers._common import Problems, parse_int, parse_text
from nascar_pipeline.ontology.parsers._feedtime import feed_date_and_lock
from nascar_pipeline.ontology.parsers.tracks import track_fields


def feed_race_fields(race: dict, probs: Problems, where: str) -> dict:
    """race_id, season, race_date, lock_time, race_name, scheduled_laps and the track fields of
    one race object of a feed; problems go to `probs` (a bad field yields None)."""
    rid = parse_int(race.get("race_id"), probs, where, "race_id", minimum=limits.ID[0])
    season = parse_int(
        race.get("race_season"),
        probs,
        where,
        "race_season",
        minimum=limits.SEASON[0],
        maximum=limits.SEASON[1],
    )
    name = parse_text(race.get("race_name"), probs, where, "race_name")
    track = parse_text(race.get("track_name"), probs, where, "track_name")
    when = race.get("date_scheduled") or race.get("race_date")
    date = lock = None
    try:
        date, lock = feed_date_and_lock(when)
    except (TypeError, ValueError, OverflowError):
        probs.add(f"{where}, field date_scheduled", f"{str(when)[:40]!r} is not an ISO date-time")
    sched = parse_int(
        race.get("scheduled_laps"),
        probs,
        where,
        "scheduled_laps",
        required=False,
        minimum=limits.RACE_LAPS[0],
        maximum=limits.RACE_LAPS[1],
    )
    return {
        "race_id": rid,
        "season": season,
        "race_date": date,
        "race_name": name,
        **track_fields(track),
        "scheduled_laps": sched,
        "lock_time": lock,
    }
