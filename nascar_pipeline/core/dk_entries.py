"""DraftKings' entries file (DKEntries.csv, "Edit Entries"): read it, and fill every entry's
roster with our lineups while every other byte stays as DraftKings wrote it. Pure: text or
bytes in, text or bytes out.

The layout DraftKings writes (NASCAR Classic):

    Entry ID,Contest Name,Contest ID,Entry Fee,D,D,D,D,D,D,,Instructions
    4700000001,NASCAR $100K Pit Stop [$20K to 1st],180001234,$5,,,,,,,,1. Column A lists ...
    ...
    ,,,,,,,,,,,Position,Name + ID,Name,ID,Roster Position,Salary,Game Info,TeamAbbrev,...
    ,,,,,,,,,,,D,Denny Hamlin (39571001),Denny Hamlin,39571001,D,10500,...

Row 1 names the four entry columns, the roster slots and, after one empty column, DraftKings'
`Instructions`. Every later row with an Entry ID is an entry (a reservation has empty slots,
an entry already played has `Name (ID)` cells). To the right, in the Instructions column, DK
writes its numbered instructions, and some rows down its player list (the slate, laid out like
DKSalaries.csv); the player list shares rows with entries when there are many of them. Contest
names with a comma are quoted. Files come with CRLF line ends, often a UTF-8 byte-order mark.

Filling rewrites only the six D cells of each entry row: the file is tokenized with each cell's
exact span, the new cells are spliced into those spans, and everything else (Entry IDs, contest
columns, fees, instructions, the player list, quoting, the BOM, line ends) is copied verbatim.
A row shorter than its slots (trailing cells left off) gets the missing separators appended.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from nascar_pipeline.core.contests import DEFAULT_CONTEST_ID, LEGACY_CONTEST_ID
from nascar_pipeline.core.csv_safety import safe_cell
from nascar_pipeline.core.errors import UserInputError
from nascar_pipeline.core.rules import DRAFTKINGS

ENTRY_COLUMNS = ("Entry ID", "Contest Name", "Contest ID", "Entry Fee")
SLOT = "D"
PLAYER_LIST_START = ("Position", "Name + ID")
BOM = "\ufeff"
# A filled cell is `Name (ID)`; DraftKings also takes the bare ID. A late-swap export may add
# `(LOCKED)` after the id, so the id is the last parenthesized number.
_CELL_ID = re.compile(r"\((\d+)\)")
_BARE_ID = re.compile(r"^\d+$")
# `dk-180001234` (our contest ids carry a site prefix) is DraftKings' contest 180001234.
_SITE_PREFIX = re.compile(r"^[A-Za-z_]+[-:]")
MAX_LISTED = 8


@dataclass(frozen=True)
class Cell:
    value: str
    start: int  # span of the raw cell in the text (quotes included)
    end: int
    quoted: bool


@dataclass(frozen=True)
class Record:
    row: int  # 1-based, the header is row 1
    cells: tuple[Cell, ...]
    end: int  # where the record's last cell ends (before the line end)


@dataclass(frozen=True)
class Entry:
    row: int
    entry_id: str
    contest_name: str
    contest_id: str
    entry_fee: str
    slots: tuple[str, ...]  # the D cells as the file has them ('' when blank)


@dataclass(frozen=True)
class EntriesFile:
    source: str
    text: str
    records: tuple[Record, ...]
    slot_columns: tuple[int, ...]  # column indices of the D slots
    entries: tuple[Entry, ...]
    players: dict[int, str]  # the player list: DK id -> DK's name
    player_ids: tuple[tuple[int, str, str], ...]  # (row, field, id text) of every id in it

    def contest_ids(self) -> list[str]:
        """The file's contests, in order of first appearance."""
        return list(dict.fromkeys(e.contest_id for e in self.entries))


def _text(data: str | bytes, source: str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserInputError(
            f"file {source}: not UTF-8 (byte {exc.start}): download the entries file from "
            "DraftKings again rather than saving it from a spreadsheet"
        ) from None


def _tokenize(text: str, source: str) -> tuple[Record, ...]:
    """RFC 4180 records with each cell's span; lines end in CRLF, LF or CR."""
    records: list[Record] = []
    n = len(text)
    i = 1 if text.startswith(BOM) else 0
    while i < n:
        cells: list[Cell] = []
        while True:
            if i < n and text[i] == '"':
                parts, j = [], i + 1
                while True:
                    k = text.find('"', j)
                    if k < 0:
                        raise UserInputError(
                            f"file {source}, row {len(records) + 1}: a quoted cell is never closed"
                        )
                    parts.append(text[j:k])
                    if text.startswith('""', k):
                        parts.append('"')
                        j = k + 2
                        continue
                    j = k + 1
                    break
                k = j
                while k < n and text[k] not in ",\r\n":
                    k += 1
                parts.append(text[j:k])
                cells.append(Cell("".join(parts), i, k, True))
            else:
                k = i
                while k < n and text[k] not in ",\r\n":
                    k += 1
                cells.append(Cell(text[i:k], i, k, False))
            i = k
            if i < n and text[i] == ",":
                i += 1
                continue
            break
        records.append(Record(len(records) + 1, tuple(cells), i))
        if text.startswith("\r\n", i):
            i += 2
        elif i < n:
            i += 1
    return tuple(records)


def _value(rec: Record, col: int) -> str:
    return rec.cells[col].value.strip() if col < len(rec.cells) else ""


def cell_player_id(cell: str) -> str | None:
    """The DraftKings player id in a roster cell (`Name (ID)` or `ID`), None when blank."""
    cell = cell.strip()
    if not cell:
        return None
    found = _CELL_ID.findall(cell)
    if found:
        return found[-1]
    return cell if _BARE_ID.match(cell) else ""


def _header(records: tuple[Record, ...], source: str) -> tuple[int, ...]:
    if not records:
        raise UserInputError(f"file {source}: empty, not DraftKings' entries file")
    head = records[0]
    found = [c.value.strip() for c in head.cells]
    if tuple(found[:4]) != ENTRY_COLUMNS:
        raise UserInputError(
            f"file {source}, row 1: not DraftKings' entries file: expected the columns "
            f"{', '.join(ENTRY_COLUMNS)} then the roster slots, found {', '.join(found[:6])} "
            "(download it from DraftKings: Lineups, Edit Entries)"
        )
    slots = []
    for col in range(4, len(found)):
        if not found[col]:
            break
        slots.append(col)
    names = [found[c] for c in slots]
    if names != [SLOT] * DRAFTKINGS.roster_size:
        raise UserInputError(
            f"file {source}, row 1, fields {len(ENTRY_COLUMNS) + 1}-: roster slots "
            f"{','.join(names) or '(none)'}; a NASCAR Classic entries file has "
            f"{DRAFTKINGS.roster_size} {SLOT} slots"
        )
    return tuple(slots)


def _player_list(
    records: tuple[Record, ...], first_free: int, source: str
) -> tuple[dict[int, str], list[tuple[int, str, str]]]:
    """DK's player list to the right of the entries: its header row starts with Position,
    Name + ID; its rows run while the Position column has a value."""
    for rec in records[1:]:
        values = [c.value.strip() for c in rec.cells]
        for col in range(first_free, len(values) - 1):
            if tuple(values[col : col + 2]) == PLAYER_LIST_START:
                return _player_rows(records, rec, col, values, source)
    return {}, []


def _player_rows(records, head: Record, col: int, header: list[str], source: str):
    columns = {name: i for i, name in enumerate(header) if i >= col and name}
    if "ID" not in columns:
        raise UserInputError(
            f"file {source}, row {head.row}: DraftKings' player list has no ID column"
        )
    players: dict[int, str] = {}
    ids: list[tuple[int, str, str]] = []
    for rec in records[head.row :]:
        if not _value(rec, col):
            break
        pid = _value(rec, columns["ID"])
        if not _BARE_ID.match(pid):
            raise UserInputError(
                f"file {source}, row {rec.row}, field ID: {pid!r} is not a DraftKings player id"
            )
        ids.append((rec.row, "ID", pid))
        if "Name + ID" in columns:
            embedded = cell_player_id(_value(rec, columns["Name + ID"]))
            if embedded and embedded != pid:
                ids.append((rec.row, "Name + ID", embedded))
        name = _value(rec, columns["Name"]) if "Name" in columns else ""
        players[int(pid)] = name
    return players, ids


def parse_entries(data: str | bytes, source: str = "DKEntries.csv") -> EntriesFile:
    """Read a DKEntries.csv: its entries (per row: Entry ID, contest, fee, the D cells) and the
    ids of DK's player list. Raises UserInputError naming the file, row and field."""
    text = _text(data, source)
    records = _tokenize(text, source)
    slots = _header(records, source)
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    filled_ids: list[tuple[int, str, str]] = []
    for rec in records[1:]:
        entry_id = _value(rec, 0)
        if not entry_id:
            continue
        if not _BARE_ID.match(entry_id):
            raise UserInputError(
                f"file {source}, row {rec.row}, field Entry ID: {entry_id!r} is not a "
                "DraftKings entry id"
            )
        if entry_id in seen:
            raise UserInputError(
                f"file {source}, row {rec.row}, field Entry ID: entry {entry_id} is also on row "
                f"{seen[entry_id]}"
            )
        seen[entry_id] = rec.row
        contest_id = _value(rec, 2)
        if not _BARE_ID.match(contest_id):
            raise UserInputError(
                f"file {source}, row {rec.row}, field Contest ID: {contest_id!r} is not a "
                "DraftKings contest id"
            )
        cells = tuple(_value(rec, c) for c in slots)
        for k, cell in enumerate(cells):
            pid = cell_player_id(cell)
            if pid == "":
                raise UserInputError(
                    f"file {source}, row {rec.row}, field D (slot {k + 1}): {cell!r} is not "
                    "`Name (ID)` or a DraftKings player id"
                )
            if pid:
                filled_ids.append((rec.row, f"D (slot {k + 1})", pid))
        entries.append(Entry(rec.row, entry_id, _value(rec, 1), contest_id, _value(rec, 3), cells))
    if not entries:
        raise UserInputError(f"file {source}: no entries (no row has an Entry ID)")
    players, list_ids = _player_list(records, slots[-1] + 1, source)
    return EntriesFile(
        source=source,
        text=text,
        records=records,
        slot_columns=slots,
        entries=tuple(entries),
        players=players,
        player_ids=tuple(list_ids + filled_ids),
    )


def entries_per_contest(data: str | bytes | EntriesFile, source: str = "DKEntries.csv") -> dict:
    """{DraftKings contest id (as the file writes it, e.g. '180001234'): number of entries},
    in order of first appearance."""
    parsed = data if isinstance(data, EntriesFile) else parse_entries(data, source)
    counts: dict[str, int] = {}
    for e in parsed.entries:
        counts[e.contest_id] = counts.get(e.contest_id, 0) + 1
    return counts


def bare_contest_id(contest_id) -> str:
    """A contest id without a site prefix: 'dk-180001234' and '180001234' -> '180001234'."""
    return _SITE_PREFIX.sub("", str(contest_id).strip())


def same_contest(a, b) -> bool:
    """Whether two contest ids name the same contest, with or without a site prefix."""
    return bare_contest_id(a) == bare_contest_id(b)


def contest_counts(counts: dict, contest_ids, source: str = "DKEntries.csv") -> dict[str, int]:
    """The file's entries per contest keyed by the race's contest ids ('180001234' counts for
    'dk-180001234'). A file contest that is none of the race's is refused, naming it."""
    race = {bare_contest_id(c): str(c) for c in contest_ids}
    unknown = [
        f"contest {cid} ({n} entries)"
        for cid, n in counts.items()
        if bare_contest_id(cid) not in race
    ]
    if unknown:
        raise UserInputError(
            f"file {source}, field Contest ID: {_listed(unknown)} not among the race's contests "
            f"({', '.join(map(str, contest_ids)) or 'none'}): ingest the contest (`nascar-pipeline "
            "ingest contest`) or enter only this race's contests"
        )
    return {race[bare_contest_id(cid)]: int(n) for cid, n in counts.items()}


def _slate_dk_ids(slate: pd.DataFrame) -> dict[int, int]:
    """driver_id -> DraftKings id of the race's slate (snapshot entry rows or a slate frame)."""
    rows = slate[slate["role"] == "entry"] if "role" in slate.columns else slate
    rows = rows[rows["dk_id"].notna()]
    return dict(
        zip(rows["driver_id"].astype("int64").tolist(), rows["dk_id"].astype("int64").tolist())
    )


def _listed(items: list[str]) -> str:
    more = f"; ... and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return "; ".join(items[:MAX_LISTED]) + more


def check_slate(parsed: EntriesFile, slate: pd.DataFrame) -> None:
    """Refuse an entries file of another slate: every player id in it (DK's player list and
    the cells already filled) must be a DraftKings id of the race's slate."""
    ours = set(_slate_dk_ids(slate).values())
    bad = [
        f"row {row}, field {field}: player id {pid}"
        for row, field, pid in parsed.player_ids
        if int(pid) not in ours
    ]
    if bad:
        raise UserInputError(
            f"file {parsed.source}: {len(bad)} player ids that are not on this race's "
            f"DraftKings slate ({_listed(bad)}): the entries file is for another slate; download "
            "it again from DraftKings (Lineups, Edit Entries) for this race, or ingest this "
            "race's DKSalaries.csv"
        )


def _lineups_by_contest(parsed: EntriesFile, portfolio: pd.DataFrame) -> dict[str, list[int]]:
    """Per contest of the file, the portfolio rows (positions) its entries get, in order."""
    counts = entries_per_contest(parsed)
    has_contest = "contest_id" in portfolio.columns and not set(
        portfolio["contest_id"].dropna().astype(str)
    ) <= {DEFAULT_CONTEST_ID, LEGACY_CONTEST_ID}
    pool = list(range(len(portfolio)))
    if not has_contest:
        # An older portfolio, or one built for no ingested contest (one pool): every contest
        # takes its entries' lineups from the top of the pool; one lineup may serve several.
        plan = {cid: pool for cid in counts}
    else:
        ids = [None if pd.isna(c) else bare_contest_id(c) for c in portfolio["contest_id"].tolist()]
        plan = {cid: [i for i in pool if ids[i] == bare_contest_id(cid)] for cid in counts}
    short = [
        f"contest {cid} has {n} entries, the portfolio {len(plan[cid])} lineups"
        + ("" if has_contest else " (one pool for every contest)")
        for cid, n in counts.items()
        if len(plan[cid]) < n
    ]
    if short:
        raise UserInputError(
            f"file {parsed.source}: too few lineups: {_listed(short)}. Build the race with the "
            "entries file so each contest gets a lineup per entry (`nascar-pipeline build --race "
            "RACE_KEY --entries DKEntries.csv`), then export again"
        )
    return plan


def _lineup_cells(
    portfolio: pd.DataFrame,
    rows: list[int],
    slate: pd.DataFrame,
    players: dict[int, str],
    source: str,
) -> dict[int, list[str]]:
    """Per portfolio row used (positions), its six cells `Name (ID)` (DK's spelling from the file's player
    list when it has the driver, else ours), each safe for a spreadsheet."""
    dk_of = _slate_dk_ids(slate)
    cols = [f"d{j}_driver_id" for j in range(1, DRAFTKINGS.roster_size + 1)]
    missing = [c for c in cols if c not in portfolio.columns]
    if missing:
        raise ValueError(f"the portfolio has no {', '.join(missing)} columns")
    out: dict[int, list[str]] = {}
    no_id: list[str] = []
    not_listed: list[str] = []
    for pos in rows:
        row = portfolio.iloc[pos]
        label = row["lineup_id"] if "lineup_id" in portfolio.columns else pos
        cells = []
        for j, col in enumerate(cols, start=1):
            driver = int(row[col])
            name = str(row.get(f"d{j}_name", driver))
            dk_id = dk_of.get(driver)
            if dk_id is None:
                no_id.append(f"lineup {label}, d{j}: {name} (driver id {driver})")
            elif players and dk_id not in players:
                not_listed.append(f"lineup {label}, d{j}: {name} ({dk_id})")
            else:
                cells.append(safe_cell(f"{players.get(dk_id) or name} ({dk_id})"))
        out[pos] = cells
    if no_id:
        raise UserInputError(
            f"portfolio: drivers without a DraftKings id on this race's slate ({_listed(no_id)})"
            ": ingest the race's DKSalaries.csv and build the portfolio again"
        )
    if not_listed:
        raise UserInputError(
            f"file {source}: DraftKings' player list in the file lacks drivers of our lineups "
            f"({_listed(not_listed)}): the file is for another slate or was cut; download it "
            "again from DraftKings (Lineups, Edit Entries)"
        )
    return out


def _csv_cell(value: str, quoted_like: bool) -> str:
    if quoted_like or any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _splice(parsed: EntriesFile, fills: dict[int, list[str]]) -> str:
    """The text with each filled row's slot cells replaced; nothing else touched."""
    text, out, at = parsed.text, [], 0
    for rec in parsed.records:
        cells = fills.get(rec.row)
        if cells is None:
            continue
        width = len(rec.cells)
        for col, value in zip(parsed.slot_columns, cells):
            if col < len(rec.cells):
                old = rec.cells[col]
                out += [text[at : old.start], _csv_cell(value, old.quoted)]
                at = old.end
            else:  # a row written without its trailing blank cells: add the separators
                out += [text[at : rec.end], "," * (col - width + 1), _csv_cell(value, False)]
                at, width = rec.end, col + 1
    out.append(text[at:])
    return "".join(out)


def fill_entries(
    file_text: str | bytes,
    portfolio: pd.DataFrame,
    slate: pd.DataFrame,
    source: str = "DKEntries.csv",
) -> str | bytes:
    """DraftKings' entries file with every entry's six D cells filled `Name (ID)` from the
    portfolio's DraftKings lineups, every other byte as the file had it (bytes in, bytes out).

    portfolio: a lineup frame (d1..d6 driver ids, lineup_id; `site`; optionally `contest_id`).
    With contest ids, each contest's entries take that contest's lineups in order ('dk-180001234'
    matches the file's 180001234); without (an older portfolio), each contest's entries take
    the pool's lineups in order. slate: the race's snapshot (or its entry rows) with driver_id,
    dk_id. Refused with UserInputError: a file of another slate, a contest with fewer lineups
    than entries, a lineup driver without a DraftKings id.
    """
    parsed = parse_entries(file_text, source)
    check_slate(parsed, slate)
    lineups = portfolio
    if "site" in lineups.columns:
        lineups = lineups[lineups["site"] == DRAFTKINGS.name]
    lineups = lineups.reset_index(drop=True)
    if lineups.empty:
        raise UserInputError("portfolio: no DraftKings lineups to fill the entries with")
    plan = _lineups_by_contest(parsed, lineups)
    taken = {cid: 0 for cid in plan}
    chosen: dict[int, int] = {}  # entry row -> portfolio position
    for e in parsed.entries:
        chosen[e.row] = plan[e.contest_id][taken[e.contest_id]]
        taken[e.contest_id] += 1
    cells = _lineup_cells(
        lineups, sorted(set(chosen.values())), slate, parsed.players, parsed.source
    )
    fills = {row: cells[pos] for row, pos in chosen.items()}
    text = _splice(parsed, fills)
    return text.encode("utf-8") if isinstance(file_text, bytes) else text


def filled_lineups(data: str | bytes | EntriesFile, source: str = "DKEntries.csv") -> list:
    """Per entry (file order): (entry id, contest id, the six player ids or None when blank)."""
    parsed = data if isinstance(data, EntriesFile) else parse_entries(data, source)
    return [
        (e.entry_id, e.contest_id, tuple(cell_player_id(c) for c in e.slots))
        for e in parsed.entries
    ]
