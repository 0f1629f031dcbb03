"""Helpers shared by the parsers: reading files (size and depth limits, streamed CSV rows),
typed cells with line numbers and range checks, bounded problems and warnings, race keys."""

from __future__ import annotations

import contextlib
import contextvars
import csv
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nascar_pipeline.core.slugs import make_race_key
from nascar_pipeline.errors import UserInputError
from nascar_pipeline.ontology.parsers.limits import (
    ID,
    MAX_CSV_CELL,
    MAX_FILE_BYTES,
    MAX_JSON_DEPTH,
    MAX_LISTED,
)

# Whole numbers, also as pandas writes them from a float column: "2.0", "2.", "2.000".
_INT_RE = re.compile(r"^[+-]?\d+(?:\.0*)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)


class _Bounded:
    """The first MAX_LISTED messages and a count of all of them (a 1M-row file of bad names
    keeps 8 strings, not 1M)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.items: list[str] = []
        self.count = 0

    def add(self, where: str, problem: str) -> None:
        self.count += 1
        if len(self.items) < MAX_LISTED:
            self.items.append(f"{where}: {problem}")

    def __bool__(self) -> bool:
        return self.count > 0

    def text(self, noun: str) -> str:
        more = self.count - len(self.items)
        if self.count == 1:
            return f"file {self.path}, {self.items[0]}"
        return (
            f"file {self.path}: {self.count} {noun}s:\n  "
            + "\n  ".join(self.items)
            + (f"\n  ... and {more} more" if more else "")
        )


class Problems(_Bounded):
    """Collects problems of one file; `raise_if_any` raises one UserInputError listing them."""

    def raise_if_any(self) -> None:
        if self.count:
            raise UserInputError(self.text("problem"))

    def fail(self, where: str, problem: str) -> None:
        self.add(where, problem)
        self.raise_if_any()


class Warnings(_Bounded):
    """What a file lacks but can do without (a missing car number): reported once, bounded."""


_WARNINGS: contextvars.ContextVar[dict[str, Warnings] | None] = contextvars.ContextVar(
    "ingest_warnings", default=None
)


def warn(path: str | Path, where: str, message: str) -> None:
    """Record a warning for `path` (kept only inside `collecting_warnings()`)."""
    sink = _WARNINGS.get()
    if sink is not None:
        sink.setdefault(str(path), Warnings(path)).add(where, message)


@contextlib.contextmanager
def collecting_warnings() -> Iterator[list[Warnings]]:
    """Collects the warnings of the parsers run inside; yields a list filled (one Warnings per
    file) when the block ends."""
    sink: dict[str, Warnings] = {}
    token = _WARNINGS.set(sink)
    out: list[Warnings] = []
    try:
        yield out
    finally:
        _WARNINGS.reset(token)
        out.extend(sink.values())


def _check_file(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise UserInputError(f"file {p}: not found")
    size = os.path.getsize(p)
    if size > MAX_FILE_BYTES:
        raise UserInputError(
            f"file {p}: {size / 2**20:.1f} MiB is over the {MAX_FILE_BYTES // 2**20} MiB "
            "input limit (split it; a history can be split into one file per season)"
        )
    return p


def read_text(path: str | Path) -> str:
    p = _check_file(path)
    try:
        return p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserInputError(f"file {p}: not UTF-8 text ({exc})") from None


def json_depth(text: str) -> int:
    """The deepest nesting of arrays/objects in JSON text (strings skipped), without recursion."""
    raw = _JSON_STRING.sub(b"", text.encode("utf-8", "surrogatepass"))
    b = np.frombuffer(raw, dtype=np.uint8)
    idx = np.flatnonzero((b == 0x5B) | (b == 0x7B) | (b == 0x5D) | (b == 0x7D))
    if not len(idx):
        return 0
    step = np.where((b[idx] == 0x5B) | (b[idx] == 0x7B), 1, -1).astype(np.int32)
    return int(np.cumsum(step, dtype=np.int32).max())


def read_json(path: str | Path) -> Any:
    text = read_text(path)
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise UserInputError(
            f"file {path}: JSON nested {depth} levels deep, over the limit of {MAX_JSON_DEPTH} "
            "(NASCAR's feeds nest a few levels; not a feed file?)"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"file {path}, line {exc.lineno}, column {exc.colno}: invalid or "
            f"truncated JSON ({exc.msg})"
        ) from None
    except RecursionError:  # unreachable after the depth check; kept as a guard
        raise UserInputError(f"file {path}: JSON nested too deeply") from None


def iter_csv_rows(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    """(first line of the row, cells) for each row of a CSV file, streamed with the csv module
    (newline='': a U+2028 or a newline inside a quoted cell stays in the cell)."""
    p = _check_file(path)
    line = 1
    try:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            for row in reader:
                yield line, row
                line = reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise UserInputError(f"file {p}, near line {line}: not UTF-8 text ({exc})") from None
    except csv.Error as exc:
        raise UserInputError(f"file {p}, line {line}: malformed CSV ({exc})") from None


csv.field_size_limit(MAX_CSV_CELL)


class CsvTable:
    """A CSV file with a header, read one row at a time: `records()` yields each non-blank row
    as {column: stripped cell, "_line": 1-based line}. A row with the wrong number of cells is
    a problem in `probs` (raise it after the loop). Raises at once if a required column is
    missing. Duplicate header names keep the first column."""

    def __init__(self, path: str | Path, required: list[str], probs: Problems | None = None):
        self.path = path
        self.probs = probs or Problems(path)
        self._rows = iter_csv_rows(path)
        first = next(self._rows, None)
        if first is None or not any(c.strip() for c in first[1]):
            raise UserInputError(f"file {path}: empty file, expected a CSV header line")
        self.header = [h.strip() for h in first[1]]
        missing = [c for c in required if c not in self.header]
        if missing:
            raise UserInputError(
                f"file {path}, line 1 (header): missing column(s) "
                f"{', '.join(missing)}; found: {', '.join(self.header)}"
            )
        self._index = {}
        for i, h in enumerate(self.header):
            self._index.setdefault(h, i)
        self.rows_read = 0

    def records(self) -> Iterator[dict]:
        n = len(self.header)
        for line, row in self._rows:
            if not any(c.strip() for c in row):
                continue
            if len(row) != n:
                self.probs.add(
                    f"line {line}",
                    f"{len(row)} cells, the header has {n} (truncated or malformed row)",
                )
                continue
            self.rows_read += 1
            rec = {h: row[i].strip() for h, i in self._index.items()}
            rec["_line"] = line
            yield rec


class Columns:
    """Parsed rows kept column by column until `frame()`: no dict per row, and each column's
    repeated values (race ids, teams, statuses) stored once; `unique` columns (line numbers)
    skip that sharing. A 58 MB, 950,000-row results file parses in well under 1 GB."""

    def __init__(self, *names: str, unique: tuple[str, ...] = ()):
        self.data: dict[str, list] = {n: [] for n in names}
        self._shared: dict[str, dict] = {n: {} for n in names if n not in unique}

    def add(self, **values) -> None:
        for name, col in self.data.items():
            v = values.get(name)
            shared = self._shared.get(name)
            col.append(v if shared is None or v is None else shared.setdefault(v, v))

    def __len__(self) -> int:
        return len(next(iter(self.data.values()), []))

    def frame(self) -> pd.DataFrame:
        self._shared.clear()
        return pd.DataFrame(self.data)


def _blank(value: Any, probs: Problems, where: str, field: str, required: bool) -> bool:
    """True when the cell is empty (a problem when it is required)."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if required:
            probs.add(f"{where}, field {field}", "missing value")
        return True
    return False


def _in_range(out, probs: Problems, where: str, field: str, minimum, maximum):
    """`out` when within [minimum, maximum] (either may be None), else a problem and None."""
    if minimum is not None and out < minimum:
        probs.add(f"{where}, field {field}", f"{_short(out)} is below {minimum}")
        return None
    if maximum is not None and out > maximum:
        probs.add(f"{where}, field {field}", f"{_short(out)} is above {maximum}")
        return None
    return out


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 5] + "...(" + str(len(text)) + " chars)"


def parse_int(
    value: Any,
    probs: Problems,
    where: str,
    field: str,
    *,
    required: bool = True,
    minimum: int | None = None,
    maximum: int | None = ID[1],
) -> int | None:
    """An int from a CSV cell or JSON value ("2" and "2.0" alike); adds a problem and returns
    None when invalid or outside [minimum, maximum] (maximum defaults to the id range, so no
    integer beyond int64 passes)."""
    if _blank(value, probs, where, field, required):
        return None
    out = None
    if isinstance(value, bool):
        out = None
    elif isinstance(value, int):
        out = value
    elif isinstance(value, float) and value.is_integer():
        out = int(value)
    elif isinstance(value, str) and len(value) < 400 and _INT_RE.match(value.strip()):
        out = int(value.strip().split(".")[0])
    if out is None:
        probs.add(f"{where}, field {field}", f"{_short(value)} is not a whole number")
        return None
    return _in_range(out, probs, where, field, minimum, maximum)


def parse_float(
    value: Any,
    probs: Problems,
    where: str,
    field: str,
    *,
    required: bool = True,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float | None:
    if _blank(value, probs, where, field, required):
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        out = float(str(value).strip().rstrip("%")) if isinstance(value, str) else float(value)
        if out != out or out in (float("inf"), float("-inf")):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        probs.add(f"{where}, field {field}", f"{_short(value)} is not a number")
        return None
    return _in_range(out, probs, where, field, minimum, maximum)


def parse_date(value: Any, probs: Problems, where: str, field: str) -> str | None:
    text = "" if value is None else str(value).strip()
    if not _DATE_RE.match(text):
        probs.add(f"{where}, field {field}", f"{_short(value)} is not a date YYYY-MM-DD")
        return None
    try:
        pd.Timestamp(text)
    except ValueError:
        probs.add(f"{where}, field {field}", f"{value!r} is not a valid date")
        return None
    return text


def parse_text(
    value: Any, probs: Problems, where: str, field: str, *, required: bool = True
) -> str | None:
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            probs.add(f"{where}, field {field}", "missing value")
        return None
    return text


_WHOLE_FLOAT = re.compile(r"^(\d+)\.0*$")


def parse_car_number(
    value: Any, probs: Problems, path: str | Path, where: str, field: str
) -> str | None:
    """A car number as text ("07" stays "07"; pandas' "11.0" is "11"); missing is a warning
    (the car number is optional: the entry is stored without it)."""
    text = parse_text(value, probs, where, field, required=False)
    if text is None:
        warn(path, f"{where}, field {field}", "missing value (stored without a car number)")
        return None
    m = _WHOLE_FLOAT.match(text)
    return m.group(1) if m else text


def assign_race_keys(races: pd.DataFrame) -> pd.Series:
    """Race keys for a file's races: make_race_key(season, track_name, race_name); when two
    races of one file share a key, the earliest (by race_date, then race_id) keeps it and the
    others get `-2`, `-3`, ... in that order. (Across files, the writer keeps the key a race
    already has in the graph, found by race_id.)"""
    base = [
        make_race_key(s, t, n)
        for s, t, n in zip(races["season"], races["track_name"], races["race_name"])
    ]
    order = sorted(
        range(len(races)),
        key=lambda i: (
            str(races["race_date"].iloc[i]),
            int(races["race_id"].iloc[i] or 0) if pd.notna(races["race_id"].iloc[i]) else 0,
        ),
    )
    used: set[str] = set()
    keys: list[str | None] = [None] * len(races)
    for i in order:
        key, n = base[i], 1
        while key in used:
            n += 1
            key = f"{base[i]}-{n}"
        used.add(key)
        keys[i] = key
    return pd.Series(keys, index=races.index, dtype="string")


def check_permutation(
    positions: list[tuple[int, int | None]], probs: Problems, where: str, field: str
) -> None:
    """`positions`: (line or index, position) pairs of one race: must be exactly 1..N."""
    vals = [p for _, p in positions if p is not None]
    if len(vals) != len(positions):
        return  # already reported as invalid cells
    n = len(vals)
    if sorted(vals) != list(range(1, n + 1)):
        counts = Counter(vals)
        dups = sorted(p for p, c in counts.items() if c > 1)
        missing = sorted(set(range(1, n + 1)) - set(vals))
        detail = []
        if dups:
            detail.append(
                "duplicated "
                + ", ".join(
                    f"{p} (lines {', '.join([str(l) for l, q in positions if q == p][:5])})"
                    for p in dups[:5]
                )
            )
        if missing:
            detail.append(f"missing {', '.join(map(str, missing[:10]))}")
        probs.add(
            f"{where}, field {field}",
            f"finishing positions of {n} cars are not a permutation of 1..{n}: "
            + "; ".join(detail),
        )


def json_objects(items: list, probs: Problems, where: str):
    """(`where[i]`, item) for each object of a JSON list; any other item is a problem."""
    for i, item in enumerate(items):
        w = f"{where}[{i}]"
        if isinstance(item, dict):
            yield w, item
        else:
            probs.add(w, "expected an object")
