"""Formula injection: a driver name that came in through an input file is written as text in
every upload and report CSV, never as a formula a spreadsheet would run."""

from __future__ import annotations

import csv
import io

import pandas as pd

from nascar_pipeline.core.csv_safety import safe_cell, safe_frame
from nascar_pipeline.core.export import draftkings_upload_csv, fanduel_upload_csv

EVIL = "=cmd|' /C calc'!A0"


def test_formula_cells_are_quoted_numbers_are_not():
    for text in (EVIL, "+1+cmd", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1+1", "\r=1"):
        assert safe_cell(text) == "'" + text
    for kept in ("Kyle Larson", "-5", "+3.5", "-1e3", 42, -7.5, None, ""):
        assert safe_cell(kept) == kept


def _cells(text: str) -> list[str]:
    return [c for row in list(csv.reader(io.StringIO(text)))[1:] for c in row]


def test_draftkings_and_fanduel_uploads_never_start_a_cell_with_a_formula():
    lineup = [(EVIL, 40001)] + [(f"Driver {i}", 40002 + i) for i in range(5)]
    dk = _cells(draftkings_upload_csv([lineup]))
    assert dk[0] == "'" + f"{EVIL} (40001)"
    fd_text, warnings = fanduel_upload_csv([[(EVIL, None)] + [("B", "123-4")] * 4])
    fd = _cells(fd_text)
    assert fd[0] == "'" + EVIL and fd[1] == "123-4" and warnings
    for cell in dk + fd:
        assert not cell.startswith(("=", "+", "-", "@"))


def test_report_frames_are_safe_and_keep_numbers():
    frame = pd.DataFrame({"driver_name": [EVIL, "Chase Elliott"], "salary": [9000, 8800]})
    out = safe_frame(frame)
    assert out["driver_name"].tolist() == ["'" + EVIL, "Chase Elliott"]
    assert out["salary"].tolist() == [9000, 8800]
    assert frame["driver_name"].iloc[0] == EVIL  # the caller's frame is not changed
