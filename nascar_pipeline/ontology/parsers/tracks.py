"""Track types and lengths for feeds and schedules, which do not carry them.

Derived from the `track_type` / `track_length_miles` columns of the project's history data
(races.csv, 2019-2025) where it has them; the few tracks it leaves blank (Auto Club, the Bristol
dirt track, the Chicago street course, Mexico City) and North Wilkesboro are filled by their
layout: ovals of 2 miles and more that are not drafting tracks are intermediate, street and
road courses are road. Keyed by `slugify(track_name)`; unknown tracks get null type/length.
"""

from __future__ import annotations

from nascar_pipeline.core.slugs import slugify

# slug(track_name) -> (track_type, length_miles or None)
TRACKS: dict[str, tuple[str, float | None]] = {
    "atlanta-motor-speedway": ("superspeedway", 1.54),
    "echopark-speedway": ("superspeedway", 1.54),
    "auto-club-speedway": ("intermediate", 2.0),
    "autodromo-hermanos-rodriguez": ("road", 2.42),
    "bristol-motor-speedway": ("short", 0.533),
    "bristol-motor-speedway-dirt": ("short", 0.533),
    "charlotte-motor-speedway": ("intermediate", 1.5),
    "charlotte-motor-speedway-road-course": ("road", 2.28),
    "chicago-street-race": ("road", 2.2),
    "chicagoland-speedway": ("intermediate", 1.5),
    "circuit-of-the-americas": ("road", 2.4),
    "daytona-road-course": ("road", 3.61),
    "darlington-raceway": ("intermediate", 1.366),
    "daytona-international-speedway": ("superspeedway", 2.5),
    "dover-motor-speedway": ("short", 1.0),
    "dover-international-speedway": ("short", 1.0),
    "homestead-miami-speedway": ("intermediate", 1.5),
    "indianapolis-motor-speedway": ("superspeedway", 2.5),
    "indianapolis-motor-speedway-road-course": ("road", 2.439),
    "iowa-speedway": ("short", 0.875),
    "kansas-speedway": ("intermediate", 1.5),
    "kentucky-speedway": ("intermediate", 1.5),
    "las-vegas-motor-speedway": ("intermediate", 1.5),
    "martinsville-speedway": ("short", 0.526),
    "michigan-international-speedway": ("intermediate", 2.0),
    "nashville-superspeedway": ("intermediate", 1.33),
    "new-hampshire-motor-speedway": ("short", 1.058),
    "north-wilkesboro-speedway": ("short", 0.625),
    "phoenix-raceway": ("short", 1.0),
    "pocono-raceway": ("intermediate", 2.5),
    "richmond-raceway": ("short", 0.75),
    "road-america": ("road", 4.048),
    "sonoma-raceway": ("road", 1.99),
    "talladega-superspeedway": ("superspeedway", 2.66),
    "texas-motor-speedway": ("intermediate", 1.5),
    "watkins-glen-international": ("road", 2.45),
    "world-wide-technology-raceway": ("intermediate", 1.25),
}


def track_info(track_name: str | None) -> tuple[str | None, float | None]:
    if not track_name:
        return None, None
    return TRACKS.get(slugify(track_name), (None, None))


def track_fields(track_name: str | None, track_type=None, length_miles=None) -> dict:
    """The races table's track columns for a track name; a type or length the input file gives
    wins over the known one."""
    known_type, known_length = track_info(track_name)
    return {
        "track_name": track_name,
        "track_id": slugify(track_name) if track_name else None,
        "track_type": track_type or known_type,
        "track_length_miles": length_miles if length_miles is not None else known_length,
    }
