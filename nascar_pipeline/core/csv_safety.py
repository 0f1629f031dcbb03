"""Cells a spreadsheet would run as a formula, neutralised before any CSV is written.

A player opens upload and report files in Excel or Sheets; a cell that starts with `=`, `+`,
`-`, `@` (or a tab / carriage return that hides one) is evaluated there, so a driver name
such as `=cmd|' /C calc'!A0` that came in through an input file would run. Such a text cell
gets a leading apostrophe (OWASP's advice: the spreadsheet shows the text as typed). Numbers,
including negative ones, are left alone: they are data, not formulas.
"""

from __future__ import annotations

import re

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def safe_cell(value):
    """`value` unchanged unless it is text a spreadsheet would evaluate; then `'` + text."""
    if not isinstance(value, str) or not value.startswith(FORMULA_PREFIXES):
        return value
    if _NUMBER.match(value.strip()):
        return value
    return "'" + value


def safe_row(row) -> list:
    return [safe_cell(v) for v in row]


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text columns (and header) are safe to write with `to_csv`."""
    out = frame.copy()
    out.columns = [safe_cell(c) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(safe_cell)
    return out
