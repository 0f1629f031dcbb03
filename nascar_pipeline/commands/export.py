"""`nascar-pipeline export --race RACE_KEY --site draftkings --out FILE`: the materialized
lineup_portfolio as a bulk-upload CSV (read through the storage layout, STORAGE_ROOT).

DraftKings: header `D,D,D,D,D,D`, cells `Name (ID)` (or the bare player id with --style id).
FanDuel: header `Driver,Driver,Driver,Driver,Driver`: the FanDuel file lineup_portfolio wrote beside
itself (5-driver lineups on FanDuel salaries and FanDuel points), each cell a FanDuel player id
(`123456-78901`, see core/export.py). When the race's FanDuel salaries were not ingested
(`ingest fd-salaries`), those lineups use stand-in salaries and their cells carry names: the
file is written anyway and the command says, on stderr, that it is NOT uploadable to FanDuel.

`--entries DKEntries.csv`: DraftKings' entries file ("Edit Entries") filled instead: every entry's
six D cells get `Name (ID)` from the portfolio's lineups (each contest its own lineups when the
portfolio has contest ids), everything else as DraftKings wrote it (core/dk_entries.py). Written
atomically to --out, or beside lineup_portfolio (`<race>.dkentries.csv`); a file of another
slate, or a contest with more entries than lineups, is refused and nothing is written.
"""

from __future__ import annotations

from pathlib import Path

from nascar_pipeline.core.rules import SITES
from nascar_pipeline.errors import UserInputError


def register(sub) -> None:
    p = sub.add_parser("export", help="write a race's lineup portfolio as a DFS bulk-upload CSV")
    p.add_argument("--race", required=True, help="race key, e.g. 2026-brickyard-400")
    p.add_argument("--site", choices=SITES, default="draftkings")
    p.add_argument(
        "--out",
        help="CSV file to write ('-' for stdout); required without --entries; with --entries "
        "the default is beside the lineup portfolio in the storage",
    )
    p.add_argument(
        "--entries",
        metavar="DKENTRIES_CSV",
        help="DraftKings' entries file (Lineups, Edit Entries) to fill with the lineups",
    )
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


def _race_key(race: str) -> str:
    from nascar_pipeline.core.slugs import validate_race_key

    try:
        return validate_race_key(race)
    except ValueError as exc:
        raise UserInputError(f"--race {race!r}: {exc}") from None


def _read_asset(layout, asset: str, race_key: str):
    try:
        return layout.read_asset(asset, race_key)
    except FileNotFoundError:
        raise UserInputError(
            f"--race {race_key}: {asset} is not materialized under "
            f"{layout.root_uri} (materialize it, or set STORAGE_ROOT)"
        ) from None


def read_entries_file(path: str) -> bytes:
    """A DKEntries.csv's bytes (refused when missing or over the input size limit)."""
    from nascar_pipeline.ontology.parsers.limits import MAX_FILE_BYTES

    p = Path(path)
    if not p.is_file():
        raise UserInputError(f"file {path}: not found")
    if p.stat().st_size > MAX_FILE_BYTES:
        raise UserInputError(
            f"file {path}: over the {MAX_FILE_BYTES // 2**20} MiB input limit: not "
            "DraftKings' entries file"
        )
    return p.read_bytes()


def entries_per_contest_file(path: str) -> dict[str, int]:
    """{DraftKings contest id: entries} of a DKEntries.csv on disk (what `build` passes on)."""
    from nascar_pipeline.core.dk_entries import entries_per_contest

    return entries_per_contest(read_entries_file(path), source=path)


def fill_entries_file(race_key: str, path: str, out: str | None = None) -> str:
    """Fill the DKEntries.csv at `path` with the race's stored portfolio (its DraftKings ids from
    the stored race_snapshot) and write it atomically to `out` ('-': stdout; None: beside
    lineup_portfolio). Returns what to tell the user: entries per contest and where."""
    import sys

    from nascar_pipeline.core.export import DRAFTKINGS_ENTRIES, draftkings_entries_upload
    from nascar_pipeline.storage.atomic import write_bytes_atomic
    from nascar_pipeline.storage.layout import layout_from_env

    race_key = _race_key(race_key)
    data = read_entries_file(path)
    layout = layout_from_env()
    portfolio = _read_asset(layout, "lineup_portfolio", race_key)
    snapshot = _read_asset(layout, "race_snapshot", race_key)
    filled, counts = draftkings_entries_upload(data, portfolio, snapshot, source=path)
    if out == "-":
        sys.stdout.buffer.write(filled)
        sys.stdout.flush()
        where = "stdout"
    elif out:
        target = Path(out)
        if not target.parent.is_dir():
            raise UserInputError(f"--out {out}: folder {target.parent} does not exist")
        write_bytes_atomic(target, filled)
        where = str(target)
    else:
        target = layout.extra_path("lineup_portfolio", race_key, DRAFTKINGS_ENTRIES)
        layout.write_bytes_atomic(target, filled)
        where = str(target)
    per_contest = ", ".join(f"contest {cid}: {n}" for cid, n in counts.items())
    return f"filled {sum(counts.values())} DraftKings entries ({per_contest}) in {where}"


def run(args) -> int:
    import sys

    from nascar_pipeline.core.export import FANDUEL_UPLOAD, fanduel_file_warnings
    from nascar_pipeline.storage.layout import layout_from_env

    race_key = _race_key(args.race)
    if args.entries:
        if args.site != "draftkings":
            raise UserInputError(
                "--entries: DraftKings' entries file is filled with DraftKings lineups; "
                "FanDuel's upload is `export --site fanduel --out FILE`"
            )
        said = fill_entries_file(race_key, args.entries, args.out)
        print(said, file=sys.stderr if args.out == "-" else sys.stdout)
        return 0
    if not args.out:
        raise UserInputError("--out: required (the CSV file to write, '-' for stdout)")
    layout = layout_from_env()
    portfolio = _read_asset(layout, "lineup_portfolio", race_key)
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
