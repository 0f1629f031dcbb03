"""`nascar-pipeline score`: points for one driver's race under a site's rules."""
from __future__ import annotations

import argparse

from nascar_pipeline.core.rules import SITES, site_points
from nascar_pipeline.errors import UserInputError


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def register(sub) -> None:
    p = sub.add_parser("score", help="DFS points for one driver's race result")
    p.add_argument("--site", choices=SITES, default="draftkings")
    p.add_argument("--start", type=_nonneg_int, required=True, help="starting position (1-based)")
    p.add_argument("--finish", type=_nonneg_int, required=True, help="finishing position (1-based)")
    p.add_argument("--laps-led", type=_nonneg_int, default=0)
    p.add_argument("--fastest-laps", type=_nonneg_int, default=0)
    p.add_argument("--laps-completed", type=_nonneg_int, default=0,
                   help="laps completed (FanDuel scores 0.1 a lap)")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.start < 1 or args.finish < 1:
        raise UserInputError("--start and --finish are 1-based positions and must be >= 1")
    pts = site_points(args.site, args.start, args.finish, args.laps_led, args.fastest_laps,
                      args.laps_completed)
    print(f"{float(pts):.2f}")
    return 0
