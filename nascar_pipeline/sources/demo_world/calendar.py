"""The demo world's calendar: a 36-race Cup season on real tracks, run on Sundays."""

from __future__ import annotations

import datetime as dt

LAST_SEASON = 2026
RACES_PER_SEASON = 36
LOCK_HOUR_UTC, LOCK_MINUTE_UTC = 19, 30


# (track name, track type, length in miles, scheduled laps, race name): a 36-race season,
# after the 2024-2025 Cup schedules.
SCHEDULE: list[tuple[str, str, float, int, str]] = [
    ("Daytona International Speedway", "superspeedway", 2.5, 200, "Daytona 500"),
    ("Atlanta Motor Speedway", "superspeedway", 1.54, 260, "Ambetter Health 400"),
    ("Las Vegas Motor Speedway", "intermediate", 1.5, 267, "Pennzoil 400"),
    ("Phoenix Raceway", "short", 1.0, 312, "Shriners Childrens 500"),
    ("Bristol Motor Speedway", "short", 0.533, 500, "Food City 500"),
    ("Circuit of The Americas", "road", 3.41, 68, "EchoPark Automotive Grand Prix"),
    ("Richmond Raceway", "short", 0.75, 400, "Toyota Owners 400"),
    ("Martinsville Speedway", "short", 0.526, 400, "Cook Out 400"),
    ("Texas Motor Speedway", "intermediate", 1.5, 267, "Wurth 400"),
    ("Talladega Superspeedway", "superspeedway", 2.66, 188, "Jack Link's 500"),
    ("Dover Motor Speedway", "short", 1.0, 400, "Dover 400"),
    ("Kansas Speedway", "intermediate", 1.5, 267, "AdventHealth 400"),
    ("Darlington Raceway", "intermediate", 1.366, 293, "Goodyear 400"),
    ("Charlotte Motor Speedway", "intermediate", 1.5, 400, "Coca-Cola 600"),
    ("World Wide Technology Raceway", "intermediate", 1.25, 240, "Enjoy Illinois 300"),
    ("Sonoma Raceway", "road", 1.99, 110, "Toyota/Save Mart 350"),
    ("Iowa Speedway", "short", 0.875, 350, "Iowa Corn 350"),
    ("New Hampshire Motor Speedway", "short", 1.058, 301, "USA Today 301"),
    ("Nashville Superspeedway", "intermediate", 1.33, 300, "Ally 400"),
    ("Chicago Street Course", "road", 2.2, 75, "Grant Park 165"),
    ("Pocono Raceway", "intermediate", 2.5, 160, "The Great American Getaway 400"),
    ("Indianapolis Motor Speedway", "superspeedway", 2.5, 160, "Brickyard 400"),
    ("Richmond Raceway", "short", 0.75, 400, "Cook Out 400"),
    ("Michigan International Speedway", "intermediate", 2.0, 200, "FireKeepers Casino 400"),
    ("Daytona International Speedway", "superspeedway", 2.5, 160, "Coke Zero Sugar 400"),
    ("Darlington Raceway", "intermediate", 1.366, 367, "Cook Out Southern 500"),
    ("Atlanta Motor Speedway", "superspeedway", 1.54, 260, "Quaker State 400"),
    ("Watkins Glen International", "road", 2.45, 90, "Go Bowling at The Glen"),
    ("Bristol Motor Speedway", "short", 0.533, 500, "Bass Pro Shops Night Race"),
    ("Kansas Speedway", "intermediate", 1.5, 267, "Hollywood Casino 400"),
    ("Talladega Superspeedway", "superspeedway", 2.66, 188, "YellaWood 500"),
    ("Charlotte Motor Speedway Road Course", "road", 2.28, 109, "Bank of America Roval 400"),
    ("Las Vegas Motor Speedway", "intermediate", 1.5, 267, "South Point 400"),
    ("Homestead-Miami Speedway", "intermediate", 1.5, 267, "Straight Talk Wireless 400"),
    ("Martinsville Speedway", "short", 0.526, 500, "Xfinity 500"),
    ("Phoenix Raceway", "short", 1.0, 312, "Championship Race"),
]
OFF_WEEKS_AFTER = (8, 21)  # 1-based race numbers followed by an off week (Easter, summer break)


def season_dates(season: int) -> list[dt.date]:
    """36 race Sundays: from the third Sunday of February, weekly, with two off weeks."""
    feb1 = dt.date(season, 2, 1)
    first = feb1 + dt.timedelta(days=(6 - feb1.weekday()) % 7 + 14)
    dates, day = [], first
    for n in range(1, RACES_PER_SEASON + 1):
        dates.append(day)
        day += dt.timedelta(days=14 if n in OFF_WEEKS_AFTER else 7)
    return dates


def lock_time(day: dt.date) -> str:
    t = dt.datetime(day.year, day.month, day.day, LOCK_HOUR_UTC, LOCK_MINUTE_UTC, tzinfo=dt.UTC)
    return t.isoformat()
