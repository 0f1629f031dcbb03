"""Bulk-upload CSVs for DraftKings and FanDuel. Pure: returns the file's text.

DraftKings NASCAR Classic: header `D,D,D,D,D,D`; each cell the DraftKings player id, or
`Name (ID)` as DraftKings' own export writes it (both are accepted by the upload).
FanDuel NASCAR: header `Driver,Driver,Driver,Driver,Driver`; each cell the FanDuel player id
exactly as the `Id` column of FanDuel's player-list export gives it (`<slate>-<player>`, e.g.
`123456-78901`). That is the cell FanDuel's lineup upload takes: pydfs-lineup-optimizer's
FanDuel exporter writes `str(player.id)` and nothing else in every roster cell
(DimaKudosh/pydfs-lineup-optimizer, pydfs_lineup_optimizer/lineup_exporter.py,
FanDuelCSVLineupExporter.render_player), with the player id read from that export's `Id`
column. (An `id:Name` form could not be confirmed, so it is not written.) Drivers without a
FanDuel id (salaries not ingested with `ingest fd-salaries`) get their name in the cell, which
FanDuel's upload will not match: the caller is warned that the file is not uploadable.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from nascar_pipeline.core.csv_safety import safe_cell, safe_frame, safe_row
from nascar_pipeline.core.rules import get_site

# Every cell goes through core/csv_safety.py: a name that came in through an input file must
# not run as a spreadsheet formula when the player opens the file.


def _cell_dk(name: str, dk_id, style: str) -> str:
    if dk_id is None or str(dk_id) in ("", "<NA>", "nan"):
        raise ValueError(f"driver {name!r} has no DraftKings id: cannot write a DraftKings upload")
    if style == "id":
        return str(int(dk_id))
    return f"{name} ({int(dk_id)})"


def draftkings_upload_csv(
    lineups: Sequence[Sequence[tuple[str, object]]], style: str = "name_id"
) -> str:
    """lineups: per lineup a sequence of (driver name, dk_id). style: 'name_id' or 'id'."""
    site = get_site("draftkings")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["D"] * site.roster_size)
    for i, lu in enumerate(lineups):
        if len(lu) != site.roster_size:
            raise ValueError(
                f"lineup {i} has {len(lu)} drivers, DraftKings needs {site.roster_size}"
            )
        w.writerow(safe_row(_cell_dk(n, d, style) for n, d in lu))
    return buf.getvalue()


def fanduel_upload_csv(lineups: Sequence[Sequence[tuple[str, object]]]) -> tuple[str, list[str]]:
    """lineups: per lineup (driver name, FanDuel id or None). Returns (text, warnings)."""
    site = get_site("fanduel")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Driver"] * site.roster_size)
    missing: set[str] = set()
    for i, lu in enumerate(lineups):
        if len(lu) != site.roster_size:
            raise ValueError(f"lineup {i} has {len(lu)} drivers, FanDuel needs {site.roster_size}")
        row = []
        for name, fd_id in lu:
            if fd_id is None or str(fd_id) in ("", "<NA>", "nan"):
                missing.add(name)
                row.append(safe_cell(name))
            else:
                row.append(safe_cell(str(fd_id).strip()))
        w.writerow(row)
    warnings = []
    if missing:
        warnings.append(
            f"{len(missing)} drivers have no FanDuel player id (FanDuel salaries and "
            "ids not ingested for this race: `nascar-pipeline ingest fd-salaries`): "
            "their cells hold names, which FanDuel's upload will not match; the file "
            "is NOT uploadable to FanDuel"
        )
    return buf.getvalue(), warnings


# The files lineup_portfolio keeps beside itself, `<asset>/<race_key>.<name>`.
DRAFTKINGS_UPLOAD = "draftkings.csv"  # DraftKings bulk upload of the portfolio
FANDUEL_UPLOAD = "fanduel.csv"  # FanDuel upload of the FanDuel lineups
FANDUEL_LINEUPS = "fanduel_lineups.csv"  # the FanDuel lineups, readable (ids, names, salaries)


def portfolio_upload_files(
    portfolio, fanduel_lineups=None
) -> tuple[dict[str, bytes | None], list[str]]:
    """The files beside lineup_portfolio: the DraftKings upload of the portfolio (a lineup
    frame with dk_id cells) and, when FanDuel lineups were built (a lineup frame with fd_id
    cells), the FanDuel upload and the readable FanDuel lineups. A name mapped to None is a
    file this run does not produce (an earlier run's must go). Returns (files, warnings)."""
    from nascar_pipeline.core.lineups import lineup_cells

    files: dict[str, bytes | None] = {
        DRAFTKINGS_UPLOAD: draftkings_upload_csv(lineup_cells(portfolio, "dk_id")).encode(),
        FANDUEL_UPLOAD: None,
        FANDUEL_LINEUPS: None,
    }
    if fanduel_lineups is None:
        return files, []
    text, warnings = fanduel_upload_csv(lineup_cells(fanduel_lineups, "fd_id"))
    files[FANDUEL_UPLOAD] = text.encode()
    files[FANDUEL_LINEUPS] = safe_frame(fanduel_lineups).to_csv(index=False).encode()
    return files, warnings


def fanduel_file_warnings(text: str) -> list[str]:
    """Why a FanDuel upload file is not uploadable ([] when every cell is a FanDuel id)."""
    from nascar_pipeline.core.fanduel import is_fanduel_id

    rows = list(csv.reader(io.StringIO(text)))
    cells = [c for r in rows[1:] for c in r]
    bad = [c for c in cells if not is_fanduel_id(c)]
    if not bad:
        return []
    return [
        f"this FanDuel file is NOT uploadable to FanDuel: {len(bad)} of {len(cells)} cells are "
        "driver names, not FanDuel player ids, and its lineups use stand-in salaries "
        "(DraftKings x 6/5). Ingest the race's FanDuel player list with `nascar-pipeline "
        "ingest fd-salaries FD_PLAYERS_CSV --race RACE_KEY` and materialize lineup_portfolio "
        "again"
    ]


# DraftKings' entries file, filled, beside lineup_portfolio (export --entries without --out).
DRAFTKINGS_ENTRIES = "dkentries.csv"


def draftkings_entries_upload(
    entries_file: str | bytes, portfolio, snapshot, source: str = "DKEntries.csv"
) -> tuple[str | bytes, dict[str, int]]:
    """DraftKings' entries file (DKEntries.csv) with every entry filled from the portfolio's
    DraftKings lineups, every other byte as DraftKings wrote it (core/dk_entries.py), and the
    entries filled per contest id. snapshot: the race's race_snapshot (its DraftKings ids)."""
    from nascar_pipeline.core.dk_entries import entries_per_contest, fill_entries, parse_entries

    filled = fill_entries(entries_file, portfolio, snapshot, source)
    return filled, entries_per_contest(parse_entries(filled, source))
