"""Race keys: the one partition key of the pipeline.

Keys are slugs `[a-z0-9-]` (no commas, `|` or `...`, which Dagster's UI and CLI
split on), e.g. `2025-bristol-food-city-500`.
"""

from __future__ import annotations

import re
import unicodedata

RACE_KEY_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_RACE_KEY_LEN = 96

# Words that say "this is a track" without telling tracks apart.
_GENERIC_TRACK_WORDS = {
    "international",
    "motor",
    "speedway",
    "raceway",
    "superspeedway",
    "race",
    "course",
    "circuit",
    "of",
    "the",
    "at",
    "park",
    "road",
    "street",
    "motorsports",
    "motorplex",
}


def slugify(text: str) -> str:
    norm = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    norm = norm.lower().replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", "-", norm).strip("-")


def track_short_name(track_name: str) -> str:
    words = [w for w in slugify(track_name).split("-") if w and w not in _GENERIC_TRACK_WORDS]
    return "-".join(words[:2]) or slugify(track_name)


def make_race_key(season: int, track_name: str, race_name: str) -> str:
    key = f"{int(season)}-{track_short_name(track_name)}-{slugify(race_name)}"
    key = re.sub(r"-+", "-", key)[:MAX_RACE_KEY_LEN].strip("-")
    return key


def is_valid_race_key(key: str) -> bool:
    return isinstance(key, str) and len(key) <= MAX_RACE_KEY_LEN and bool(RACE_KEY_RE.match(key))


def validate_race_key(key: str) -> str:
    if not is_valid_race_key(key):
        raise ValueError(
            f"invalid race key {key!r}: expected a slug of lower-case letters, digits and "
            f"single hyphens, at most {MAX_RACE_KEY_LEN} characters (e.g. 2025-bristol-food-city-500)"
        )
    return key
