"""`nascar-pipeline export --race RACE_KEY --site draftkings --out FILE`: the materialized
lineup_portfolio as a bulk-upload CSV (read through the storage layout, STORAGE_ROOT).

DraftKings: header `D,D,D,D,D,D`, cells `Name (ID)` (or the bare player id with --style id).
FanDuel: header `Driver,Driver,Driver,Driver,Driver`: the FanDuel file lineup_portfolio wrote beside
itself (5-driver lineups on FanDuel salaries and FanDuel points), each cell a FanDuel player id
(`123456-78901`, see core/export.py). When the race's FanDuel salaries were not ingested
(`ingest fd-salaries`), those lineups use stand-in salaries and their cells carry names: the
file is written anyway and the command says, on stderr, that it is NOT uploadable to FanDuel.
"""

from __future__ import annotations

from pathlib import Path

from nascar_pipeline.core.rules import SITES
from nascar_pipeline.errors import UserInputError


def register(sub) -> None:
    p = sub.add_parser("export", help="write a race's lineup portfolio as a DFS bulk-upload CSV")
    p.add_argument("--race", required=True, help="race key, e.g. 2026-brickyard-400")
    p.add_argument("--site", choices=SITES, default="draftkings")
    p.add_argument("--out", required=True, help="CSV file to write ('-' for stdout)")
    p.add_argument(
        "--style",
        choices=("name_id", "id"),
        default="name_id",
        help="DraftKings cells: 'Name (ID)' (default) or the bare player id",
    )
    p.set_defaults(func=run)


def build_csv(portfolio, site: str, style: str = "name_id") -> tuple[str, list[str]]:
    """(csv text, warnings) for a lineup_portfolio frame and a site."""
    from nascar_pipeline.assets.dfs import portfolio_lineups
    from nascar_pipeline.core.export import draftkings_upload_csv, fanduel_upload_csv
    from nascar_pipeline.core.rules import get_site

    s = get_site(site)
    rows = portfolio[portfolio["site"] == s.name] if "site" in portfolio else portfolio
    if rows.empty:
        have = sorted(set(portfolio["site"])) if "site" in portfolio else []
        hint = (
            " FanDuel lineups are written beside lineup_portfolio (fanduel.csv)."
            if s.name == "fanduel"
            else ""
        )
        raise UserInputError(
            f"the portfolio has no {s.name} lineups (it has: {', '.join(have) or 'none'}).{hint}"
        )
    lineups = portfolio_lineups(rows)
    if s.name == "draftkings":
        return draftkings_upload_csv(lineups, style=style), []
    fd = [[(name, None) for name, _ in lu] for lu in lineups]
    return fanduel_upload_csv(fd)


def fanduel_file_warnings(text: str) -> list[str]:
    """Why a FanDuel upload file is not uploadable ([] when every cell is a FanDuel id)."""
    import csv
    import io
    import re

    rows = list(csv.reader(io.StringIO(text)))
    cells = [c for r in rows[1:] for c in r]
    bad = [c for c in cells if not re.match(r"^\d+-\d+$", c.strip())]
    if not bad:
        return []
    return [
        f"this FanDuel file is NOT uploadable to FanDuel: {len(bad)} of {len(cells)} cells are "
        "driver names, not FanDuel player ids, and its lineups use stand-in salaries "
        "(DraftKings x 6/5). Ingest the race's FanDuel player list with `nascar-pipeline "
        "ingest fd-salaries FD_PLAYERS_CSV --race RACE_KEY` and materialize lineup_portfolio "
        "again"
    ]


def run(args) -> int:
    import sys

    from nascar_pipeline.core.slugs import validate_race_key
    from nascar_pipeline.storage.layout import layout_from_env

    try:
        race_key = validate_race_key(args.race)
    except ValueError as exc:
        raise UserInputError(f"--race {args.race!r}: {exc}") from None
    layout = layout_from_env()
    try:
        portfolio = layout.read_asset("lineup_portfolio", race_key)
    except FileNotFoundError:
        raise UserInputError(
            f"--race {race_key}: lineup_portfolio is not materialized under "
            f"{layout.root_uri} (materialize it, or set STORAGE_ROOT)"
        ) from None
    if args.site == "fanduel":
        path = layout.extra_path("lineup_portfolio", race_key, "fanduel.csv")
        if not path.exists():
            raise UserInputError(
                f"--race {race_key}: no FanDuel lineups beside lineup_portfolio "
                "(materialize it with fanduel_lineups > 0)"
            )
        text = layout.read_bytes(path).decode()
        warnings = fanduel_file_warnings(text)
    else:
        text, warnings = build_csv(portfolio, args.site, args.style)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        out = Path(args.out)
        if out.parent and not out.parent.exists():
            raise UserInputError(f"--out {args.out}: folder {out.parent} does not exist")
        out.write_text(text)
        n = max(len(text.splitlines()) - 1, 0)
        print(
            f"wrote {n} {args.site} lineups to {out}"
            + (" (NOT uploadable: see the warning)" if warnings and args.site == "fanduel" else "")
        )
    return 0
