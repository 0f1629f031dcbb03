"""NASCAR feed times: `date_scheduled` / `race_date` are local Eastern time without an offset."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")


def feed_date_and_lock(value) -> tuple[str, str]:
    """('YYYY-MM-DD' local race day, ISO-8601 UTC start) from a feed timestamp; ValueError."""
    dt = datetime.fromisoformat(str(value).strip())
    local = dt if dt.tzinfo else dt.replace(tzinfo=EASTERN)
    utc = local.astimezone(UTC)
    return local.date().isoformat(), utc.isoformat()
