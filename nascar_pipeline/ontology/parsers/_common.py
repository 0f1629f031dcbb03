"""Helpers shared by the parsers: reading files, typed cells with line numbers, race keys."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from nascar_pipeline.core.slugs import make_race_key
from nascar_pipeline.errors import UserInputError

MAX_LISTED = 8
_INT_RE = re.compile(r"^[+-]?\d+$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Problems:
    """Collects problems of one file; `raise_if_any` raises one UserInputError listing them."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.items: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.items.append(f"{where}: {problem}")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = self.items[:MAX_LISTED]
        more = len(self.items) - len(shown)
        msg = (
            f"file {self.path}, " + shown[0]
            if len(self.items) == 1
            else (
                f"file {self.path}: {len(self.items)} problems:\n  "
                + "\n  ".join(shown)
                + (f"\n  ... and {more} more" if more else "")
            )
        )
        raise UserInputError(msg)

    def fail(self, where: str, problem: str) -> None:
        self.add(where, problem)
        self.raise_if_any()


def read_text(path: str | Path) -> str:
    p = Path(path)
    if not p.is_file():
        raise UserInputError(f"file {p}: not found")
    try:
        return p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserInputError(f"file {p}: not UTF-8 text ({exc})") from None


def read_json(path: str | Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"file {path}, line {exc.lineno}, column {exc.colno}: invalid or "
            f"truncated JSON ({exc.msg})"
        ) from None


def read_csv_rows(path: str | Path) -> list[list[str]]:
    text = read_text(path)
    rows = list(csv.reader(text.splitlines()))
    if not rows or not any(c.strip() for c in rows[0]):
        raise UserInputError(f"file {path}: empty file, expected a CSV header line")
    return rows


def read_csv_table(path: str | Path, required: list[str]) -> pd.DataFrame:
    """A CSV as a DataFrame of stripped strings, with a `_line` column (1-based file line).
    Raises if a required column is missing or a row has the wrong number of cells."""
    rows = read_csv_rows(path)
    header = [h.strip() for h in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise UserInputError(
            f"file {path}, line 1 (header): missing column(s) "
            f"{', '.join(missing)}; found: {', '.join(header)}"
        )
    probs = Problems(path)
    data, lines = [], []
    for i, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            probs.add(
                f"line {i}",
                f"{len(row)} cells, the header has {len(header)} (truncated or malformed row)",
            )
            continue
        data.append([c.strip() for c in row])
        lines.append(i)
    probs.raise_if_any()
    df = pd.DataFrame(data, columns=header, dtype=object)
    df["_line"] = lines
    return df


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
        probs.add(f"{where}, field {field}", f"{out} is below {minimum}")
        return None
    if maximum is not None and out > maximum:
        probs.add(f"{where}, field {field}", f"{out} is above {maximum}")
        return None
    return out


def parse_int(
    value: Any,
    probs: Problems,
    where: str,
    field: str,
    *,
    required: bool = True,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    """An int from a CSV cell or JSON value; adds a problem and returns None when invalid."""
    if _blank(value, probs, where, field, required):
        return None
    if isinstance(value, bool):
        out = None
    elif isinstance(value, int):
        out = value
    elif isinstance(value, float) and value.is_integer():
        out = int(value)
    elif isinstance(value, str) and _INT_RE.match(value.strip()):
        out = int(value.strip())
    else:
        out = None
    if out is None:
        probs.add(f"{where}, field {field}", f"{value!r} is not a whole number")
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
    except (TypeError, ValueError):
        probs.add(f"{where}, field {field}", f"{value!r} is not a number")
        return None
    return _in_range(out, probs, where, field, minimum, maximum)


def parse_date(value: Any, probs: Problems, where: str, field: str) -> str | None:
    text = "" if value is None else str(value).strip()
    if not _DATE_RE.match(text):
        probs.add(f"{where}, field {field}", f"{value!r} is not a date YYYY-MM-DD")
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
        dups = sorted({p for p in vals if vals.count(p) > 1})
        missing = sorted(set(range(1, n + 1)) - set(vals))
        detail = []
        if dups:
            detail.append(
                "duplicated "
                + ", ".join(
                    f"{p} (lines {', '.join(str(l) for l, q in positions if q == p)})"
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
