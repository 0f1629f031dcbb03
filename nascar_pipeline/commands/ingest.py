"""`nascar-pipeline ingest ...` and `nascar-pipeline ontology init`: validated loads into Neo4j.

Each file is parsed and validated completely, then written in one transaction (see
ontology/writer.py): a bad file exits 2 with a message naming the file, row/field and problem,
and writes nothing. Connection: NEO4J_URI, NEO4J_USER (default neo4j), NEO4J_PASSWORD,
NEO4J_DATABASE (optional).
"""

from __future__ import annotations

import os

from nascar_pipeline.errors import UserInputError


def register(sub) -> None:
    p = sub.add_parser("ingest", help="validate an input file and load it into the Neo4j ontology")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)

    k = kinds.add_parser("history", help="races.csv + results.csv of past Cup races")
    k.add_argument("races_csv")
    k.add_argument("results_csv")
    k.set_defaults(func=run_history)

    k = kinds.add_parser("feed", help="NASCAR weekend-feed JSON (entries, results)")
    k.add_argument("weekend_feed_json")
    k.add_argument(
        "--loopstats",
        metavar="LOOPSTATS_JSON",
        help="NASCAR loop-data JSON: fastest laps per driver",
    )
    k.set_defaults(func=run_feed)

    k = kinds.add_parser(
        "loopdata",
        help="loop data (average running position, driver rating, ...): CSV or NASCAR's "
        "loopstats JSON",
        description="Loop data per start: the loopstats CSV layout (Cup, Xfinity and Truck "
        "series; Cup rows name their race by race_id) or NASCAR's loopstats feed JSON (Cup "
        "races already in the graph). docs/input-formats.md, 'Loop data'.",
    )
    k.add_argument("loopdata_file")
    k.set_defaults(func=run_loopdata)

    k = kinds.add_parser("schedule", help="NASCAR race_list_basic.json (Cup points races)")
    k.add_argument("race_list_basic_json")
    k.set_defaults(func=run_schedule)

    for name, helptext, arg, func in (
        ("salaries", "DraftKings DKSalaries.csv for a race", "dksalaries_csv", run_salaries),
        (
            "fd-salaries",
            "FanDuel player-list export CSV for a race (salaries, player ids)",
            "fd_players_csv",
            run_fd_salaries,
        ),
        (
            "ownership",
            "DraftKings contest-standings CSV: actual ownership",
            "standings_csv",
            run_ownership,
        ),
    ):
        k = kinds.add_parser(name, help=helptext)
        k.add_argument(arg)
        k.add_argument(
            "--race",
            required=True,
            metavar="RACE_KEY",
            help="race key, e.g. 2025-bristol-food-city-500",
        )
        k.set_defaults(func=func)

    k = kinds.add_parser(
        "contest",
        help="a contest JSON file (payout table) for a race, or one contest given by flags",
        description="Contests of a race: a contest JSON file (one contest or a list; "
        "docs/input-formats.md), or one contest on the command line with --contest-id, --name, "
        "--entry-fee, --field-size, --max-entries and --payouts (a JSON file or inline JSON of "
        "[{min_place, max_place, prize}, ...]). Both are validated by the same parser.",
    )
    k.add_argument("contest_file", nargs="?", help="contest JSON file (or use the flags)")
    k.add_argument(
        "--race",
        required=True,
        metavar="RACE_KEY",
        help="race key, e.g. 2025-bristol-food-city-500",
    )
    k.add_argument("--contest-id", help="contest id, e.g. dk-180001234")
    k.add_argument("--name", help="contest name")
    k.add_argument("--site", default="draftkings", help="draftkings (default) or fanduel")
    k.add_argument("--entry-fee", help="entry fee in dollars")
    k.add_argument("--field-size", help="entries in the contest")
    k.add_argument("--max-entries", help="entries per user (1: single-entry)")
    k.add_argument(
        "--payouts", metavar="FILE_OR_JSON", help="payout table: a JSON file or inline JSON"
    )
    k.set_defaults(func=run_contest)

    k = kinds.add_parser(
        "projections",
        help="your own projections (and ownership) for a race: CSV, driver by name or DK/FD id",
        description="A CSV of your DK points projections: a driver column (Name/Driver/Player, "
        "ID/dk_id or fd_id), the mean (proj_points/Projection/FPTS), optional floor, ceiling "
        "and own_pct/Ownership (%%). Replaces the race's previous numbers (docs/input-formats.md).",
    )
    k.add_argument("projections_csv")
    k.add_argument("--race", required=True, metavar="RACE_KEY", help="race key")
    k.set_defaults(func=run_projections)

    k = kinds.add_parser(
        "aliases",
        help="map names (DraftKings, FanDuel, standings) to NASCAR driver ids",
        description="Add spellings to known drivers: a CSV file with columns name,driver_id, "
        "or one pair with --name and --driver-id. Salary and ownership files then match them.",
    )
    k.add_argument("aliases_csv", nargs="?", help="CSV with columns name,driver_id")
    k.add_argument("--name", help="one name to map (with --driver-id)")
    k.add_argument("--driver-id", type=int, help="the NASCAR driver id --name means")
    k.set_defaults(func=run_aliases)

    o = sub.add_parser("ontology", help="Neo4j ontology administration")
    ops = o.add_subparsers(dest="op", metavar="OP", required=True)
    i = ops.add_parser("init", help="create the constraints and indexes (idempotent)")
    i.set_defaults(func=run_init)


def _connect():
    from nascar_pipeline.settings import get_settings

    settings = get_settings()
    uri = settings.neo4j_uri
    password = (
        settings.neo4j_password.get_secret_value() if settings.neo4j_password is not None else None
    )
    if not uri:
        raise UserInputError(
            "NEO4J_URI is not set: point it at the Neo4j server, e.g. "
            "bolt://127.0.0.1:7687 (scripts/neo4j-local.sh starts one)"
        )
    if password is None:
        raise UserInputError("NEO4J_PASSWORD is not set (and NEO4J_USER, default neo4j)")
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError, ServiceUnavailable

    user = settings.neo4j_user
    driver = GraphDatabase.driver(uri, auth=(user, password))
    try:
        driver.verify_connectivity()
    except AuthError:
        driver.close()
        raise UserInputError(
            f"Neo4j at {uri} refused user {user!r}: check NEO4J_USER / NEO4J_PASSWORD"
        ) from None
    except (ServiceUnavailable, OSError, ValueError) as exc:
        driver.close()
        raise UserInputError(f"cannot reach Neo4j at {uri} (NEO4J_URI): {exc}") from None
    return driver, settings.neo4j_database


def _race_key(key: str) -> str:
    from nascar_pipeline.core.slugs import validate_race_key

    try:
        return validate_race_key(key)
    except ValueError as exc:
        raise UserInputError(f"option --race: {exc}") from None


def _write(
    label: str,
    build,
    source: str,
    slate_for: str | None = None,
    slate_site: str = "draftkings",
    warned_before=(),
) -> int:
    """Write what `build(graph_view)` returns in one transaction; print the summary, then the
    parsers' warnings once per file (bounded)."""
    import sys

    from nascar_pipeline.ontology.parsers._common import collecting_warnings
    from nascar_pipeline.ontology.writer import ingest

    driver, database = _connect()
    try:
        with collecting_warnings() as warned:
            summary = ingest(
                driver,
                build,
                source=source,
                database=database,
                slate_for=slate_for,
                slate_site=slate_site,
            )
    finally:
        driver.close()
    print(f"ingest {label} {source}: {summary.line()}")
    for w in [*warned_before, *warned]:
        print("warning: " + w.text("warning"), file=sys.stderr)
    return 0


def _parsed(parse):
    """Run a parser that needs no graph before connecting (a bad file fails fast); returns
    (build for `_write`, the warnings it gave)."""
    from nascar_pipeline.ontology.parsers._common import collecting_warnings

    with collecting_warnings() as warned:
        tables = parse()
    return (lambda _g: tables), warned


def run_history(args) -> int:
    from nascar_pipeline.ontology.parsers.history import parse_history

    build, warned = _parsed(lambda: parse_history(args.races_csv, args.results_csv))
    return _write("history", build, f"{args.races_csv} + {args.results_csv}", warned_before=warned)


def run_feed(args) -> int:
    from nascar_pipeline.ontology.parsers.feed import parse_feed

    build, warned = _parsed(lambda: parse_feed(args.weekend_feed_json, args.loopstats))
    return _write("feed", build, args.weekend_feed_json, warned_before=warned)


def run_loopdata(args) -> int:
    from nascar_pipeline.ontology.parsers.loopdata import parse_loopdata, resolve_loop_races

    path = args.loopdata_file
    build, warned = _parsed(lambda: parse_loopdata(path))
    return _write(
        "loopdata",
        lambda g: resolve_loop_races(build(g), g.tx, path),
        path,
        warned_before=warned,
    )


def run_schedule(args) -> int:
    from nascar_pipeline.ontology.parsers.schedule import parse_schedule

    tables = parse_schedule(args.race_list_basic_json)
    return _write("schedule", lambda _g: tables, args.race_list_basic_json)


def run_salaries(args) -> int:
    from nascar_pipeline.ontology.parsers.salaries import parse_salaries

    key, path = _race_key(args.race), args.dksalaries_csv

    def build(g):
        g.require_race(key, path)
        return parse_salaries(path, key, g.drivers(), g.race_driver_ids(key))

    # the file is the race's whole DraftKings slate: drivers missing from it lose their salary
    return _write("salaries", build, path, slate_for=key)


def run_fd_salaries(args) -> int:
    from nascar_pipeline.ontology.parsers.fd_salaries import parse_fd_salaries

    key, path = _race_key(args.race), args.fd_players_csv

    def build(g):
        g.require_race(key, path)
        return parse_fd_salaries(path, key, g.drivers(), g.race_driver_ids(key))

    # the file is the race's whole FanDuel slate: drivers missing from it lose fd_salary/fd_id
    return _write("fd-salaries", build, path, slate_for=key, slate_site="fanduel")


CONTEST_FLAGS = ("contest_id", "name", "entry_fee", "field_size", "max_entries", "payouts")


def run_contest(args) -> int:
    from nascar_pipeline.ontology.parsers.contest import parse_contest

    key = _race_key(args.race)
    given = [f for f in CONTEST_FLAGS if getattr(args, f) is not None]
    if args.contest_file is not None:
        if given:
            raise UserInputError(
                "ingest contest: give a contest file or the contest flags, not both "
                f"(--{given[0].replace('_', '-')} with {args.contest_file})"
            )
        path = args.contest_file
        tables = parse_contest(path, key)
    else:
        tables, path = _contest_from_flags(args, key)

    def build(g):
        g.require_race(key, path)
        return tables

    return _write("contest", build, path)


class _LabeledPath(os.PathLike):
    """A file the parser reads, named in its messages by `label` (the flags it came from)."""

    def __init__(self, path: str, label: str):
        self.path, self.label = path, label

    def __fspath__(self) -> str:
        return self.path

    def __str__(self) -> str:
        return self.label


def _contest_from_flags(args, key: str):
    """One contest from the flags, validated by the contest file's parser (its messages name
    the flags: `--payouts FILE`, row `payouts[k]`). Returns (tables, source label)."""
    import json
    import tempfile
    from pathlib import Path

    from nascar_pipeline.ontology.parsers.contest import parse_contest

    missing = [f"--{f.replace('_', '-')}" for f in CONTEST_FLAGS if getattr(args, f) is None]
    if missing:
        raise UserInputError(
            "ingest contest: give a contest file, or every contest flag (missing "
            + ", ".join(missing)
            + ")"
        )
    text, where = args.payouts, "inline JSON"
    if not text.lstrip().startswith(("[", "{")):
        p = Path(text).expanduser()
        try:
            text, where = p.read_text(), str(p)
        except OSError as exc:
            raise UserInputError(f"option --payouts {p}: {exc.strerror or exc}") from None
    label = f"(command line: --payouts {where})"
    try:
        payouts = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"option --payouts {where}: line {exc.lineno}, column {exc.colno}: invalid JSON "
            f"({exc.msg})"
        ) from None
    if isinstance(payouts, dict) and "payouts" in payouts:  # a contest-like object
        payouts = payouts["payouts"]
    contest = {
        "contest_id": args.contest_id,
        "site": args.site,
        "name": args.name,
        "entry_fee": args.entry_fee,
        "field_size": args.field_size,
        "max_entries": args.max_entries,
        "payouts": payouts,
    }
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "contest.json"
        f.write_text(json.dumps(contest))
        tables = parse_contest(_LabeledPath(str(f), label), key)
    return tables, label


def run_ownership(args) -> int:
    from nascar_pipeline.ontology.parsers.ownership import parse_ownership

    key, path = _race_key(args.race), args.standings_csv

    def build(g):
        g.require_race(key, path)
        return parse_ownership(
            path, key, g.drivers(), g.race_driver_ids(key), contests=g.race_contests(key)
        )

    return _write("ownership", build, path)


def run_projections(args) -> int:
    from nascar_pipeline.ontology.parsers.projections import parse_projections
    from nascar_pipeline.ontology.writer import ingest_user_numbers, race_entry_ids

    key, path = _race_key(args.race), args.projections_csv

    def build(g):
        g.require_race(key, path)
        return parse_projections(path, key, g.drivers(), race_entry_ids(g.tx, key))

    driver, database = _connect()
    try:
        summary = ingest_user_numbers(driver, build, key, path, database=database)
    finally:
        driver.close()
    print(f"ingest projections {path}: {summary.line()} (the race's previous numbers replaced)")
    return 0


def run_aliases(args) -> int:
    from nascar_pipeline.ontology.parsers._common import Problems
    from nascar_pipeline.ontology.parsers.aliases import alias_rows, parse_aliases
    from nascar_pipeline.ontology.parsers.spellings import AliasTables

    if (args.aliases_csv is None) == (args.name is None):
        raise UserInputError(
            "ingest aliases: give an aliases CSV file (name,driver_id) or --name with --driver-id"
        )
    if args.name is not None:
        if args.driver_id is None or not args.name.strip():
            raise UserInputError("ingest aliases: --name needs a non-empty name and --driver-id")
        source = "option --name"

        def build(g):
            probs = Problems("(command line)")
            rows = alias_rows([(args.name.strip(), args.driver_id, "option --name")],
                              g.drivers(), probs)  # fmt: skip
            probs.raise_if_any()
            return AliasTables(aliases=rows)

        return _write("aliases", build, source)
    path = args.aliases_csv
    return _write("aliases", lambda g: parse_aliases(path, g.drivers()), path)


def run_init(args) -> int:
    from nascar_pipeline.ontology.schema import ensure_schema, schema_statements

    driver, database = _connect()
    try:
        created = ensure_schema(driver, database)
    finally:
        driver.close()
    print(
        f"ontology init: {created} of {len(schema_statements())} constraints/indexes created "
        "(the rest existed)"
    )
    return 0
