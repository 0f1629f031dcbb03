"""`nascar-pipeline score`: points for one driver's race under a site's rules."""

from __future__ import annotations

from nascar_pipeline.commands._argtypes import nonneg_int
from nascar_pipeline.core.rules import SITES, site_points
from nascar_pipeline.errors import UserInputError


def register(sub) -> None:
    p = sub.add_parser("score", help="DFS points for one driver's race result")
    p.add_argument("--site", choices=SITES, default="draftkings")
    p.add_argument("--start", type=nonneg_int, required=True, help="starting position (1-based)")
    p.add_argument("--finish", type=nonneg_int, required=True, help="finishing position (1-based)")
    p.add_argument("--laps-led", type=nonneg_int, default=0)
    p.add_argument("--fastest-laps", type=nonneg_int, default=0)
    p.add_argument(
        "--laps-completed",
        type=nonneg_int,
        default=0,
        help="laps completed (FanDuel scores 0.1 a lap)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    if args.start < 1 or args.finish < 1:
        raise UserInputError("--start and --finish are 1-based positions and must be >= 1")
    pts = site_points(
        args.site, args.start, args.finish, args.laps_led, args.fastest_laps, args.laps_completed
    )
    print(f"{float(pts):.2f}")
    return 0
