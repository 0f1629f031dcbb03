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


def draftkings_csv(portfolio, style: str = "name_id") -> str:
    """The DraftKings bulk-upload text of a lineup_portfolio frame."""
    from nascar_pipeline.core.export import draftkings_upload_csv
    from nascar_pipeline.core.lineups import lineup_cells

    rows = portfolio[portfolio["site"] == "draftkings"] if "site" in portfolio else portfolio
    if rows.empty:
        raise UserInputError("the portfolio has no draftkings lineups")
    return draftkings_upload_csv(lineup_cells(rows, "dk_id"), style=style)


def run(args) -> int:
    import sys

    from nascar_pipeline.core.export import FANDUEL_UPLOAD, fanduel_file_warnings
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
        path = layout.extra_path("lineup_portfolio", race_key, FANDUEL_UPLOAD)
        if not path.exists():
            raise UserInputError(
                f"--race {race_key}: no FanDuel lineups beside lineup_portfolio "
                "(materialize it with fanduel_lineups > 0)"
            )
        text = layout.read_bytes(path).decode()
        warnings = fanduel_file_warnings(text)
    else:
        text, warnings = draftkings_csv(portfolio, args.style), []
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
