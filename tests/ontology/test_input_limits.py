"""Hostile and sloppy inputs against the pure parsers (no Neo4j): integers beyond int64, domain
ranges, deep JSON, the file-size limit, bounded messages, U+2028 in a quoted cell, whole
numbers written `2.0`, a missing car number as a bounded warning. (Regressions of issue 16's
attack run and issue 12's race week; the CLI + graph side is in test_ingest_robust.py.)"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from nascar_pipeline.errors import UserInputError
from nascar_pipeline.ontology.parsers import limits
from nascar_pipeline.ontology.parsers._common import collecting_warnings, json_depth
from nascar_pipeline.ontology.parsers.feed import parse_feed
from nascar_pipeline.ontology.parsers.history import parse_history
from nascar_pipeline.ontology.parsers.salaries import parse_salaries

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "ingest"


def _copy_history(tmp_path: Path) -> tuple[Path, Path]:
    races, results = tmp_path / "races.csv", tmp_path / "results.csv"
    shutil.copy(SAMPLES / "races.csv", races)
    shutil.copy(SAMPLES / "results.csv", results)
    return races, results


def _edit_results(path: Path, line: int, field: str, value: str) -> None:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[line - 1][rows[0].index(field)] = value
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


@pytest.mark.parametrize(
    "field,value,expected",
    [
        ("driver_id", str(10**30), "is above 2147483647"),
        ("laps_led", str(2**63), "is above 2000"),
        ("race_id", str(-(2**70)), "is below 1"),
        ("finish_position", "101", "is above 100"),
        ("laps_completed", "2001", "is above 2000"),
        ("start_position", "0", "is below 1"),
        ("laps_led", "1" * 5000, "is not a whole number"),
    ],
)
def test_numbers_out_of_range_name_file_line_field(tmp_path, field, value, expected):
    races, results = _copy_history(tmp_path)
    _edit_results(results, 4, field, value)
    with pytest.raises(UserInputError) as exc:
        parse_history(races, results)
    msg = str(exc.value)
    assert str(results) in msg and "line 4" in msg and f"field {field}" in msg, msg
    assert expected in msg and len(msg) < 600, msg


def _feed(tmp_path: Path, **result_fields) -> Path:
    data = json.loads((SAMPLES / "weekend-feed-grid.json").read_text())
    data["weekend_race"][0]["results"][1].update(result_fields)
    p = tmp_path / "feed.json"
    p.write_text(json.dumps(data))
    return p


@pytest.mark.parametrize(
    "fields,field",
    [({"driver_id": 10**30}, "driver_id"), ({"starting_position": 2**63}, "starting_position")],
)
def test_feed_integer_beyond_int64_is_a_row_error(tmp_path, fields, field):
    p = _feed(tmp_path, **fields)
    with pytest.raises(UserInputError) as exc:
        parse_feed(p)
    msg = str(exc.value)
    assert str(p) in msg and "weekend_race[0].results[1]" in msg and f"field {field}" in msg


def test_feed_laps_led_beyond_int64_in_a_final_race(tmp_path):
    data = json.loads((SAMPLES / "weekend-feed-grid.json").read_text())
    for pos, r in enumerate(data["weekend_race"][0]["results"], start=1):
        r["finishing_position"] = pos
        r["finishing_status"] = "running"
    data["weekend_race"][0]["results"][0]["laps_led"] = 2**63
    p = tmp_path / "feed.json"
    p.write_text(json.dumps(data))
    with pytest.raises(UserInputError, match=r"results\[0\], field laps_led: .* is above 2000"):
        parse_feed(p)


def test_deeply_nested_json_is_refused_without_recursion(tmp_path):
    p = tmp_path / "deep.json"
    p.write_text('{"weekend_race": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(UserInputError) as exc:
        parse_feed(p)
    assert f"nested 100001 levels deep, over the limit of {limits.MAX_JSON_DEPTH}" in str(exc.value)


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth('{"a": "[[[[{{{{", "b": [1, {"c": "\\"]]"}]}') == 3


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    races, results = _copy_history(tmp_path)
    with open(results, "r+b") as fh:  # sparse: no disk written
        fh.truncate(limits.MAX_FILE_BYTES + 1)
    with pytest.raises(UserInputError, match=r"MiB is over the 64 MiB input limit"):
        parse_history(races, results)


def test_u2028_inside_a_quoted_cell_stays_in_the_cell(tmp_path):
    races, results = _copy_history(tmp_path)
    _edit_results(results, 2, "team", "Joe Gibbs\u2028Racing, \u2029Inc.")
    tables = parse_history(races, results)
    teams = set(tables.entries["team"].dropna())
    assert "Joe Gibbs\u2028Racing, \u2029Inc." in teams
    assert len(tables.results) == 10


def test_pandas_written_history_with_float_columns_is_accepted(tmp_path):
    """pandas writes an integer column holding a blank as floats: 4773.0, 10.0, ..."""
    races_df = pd.read_csv(SAMPLES / "races.csv")
    results_df = pd.read_csv(SAMPLES / "results.csv", dtype={"car_number": str})
    results_df = results_df.astype({c: "float64" for c in ("race_id", "driver_id", "laps_led")})
    results_df["car_number"] = results_df["car_number"].astype(float)
    races_df["season"] = races_df["season"].astype(float)
    races, results = tmp_path / "races.csv", tmp_path / "results.csv"
    races_df.to_csv(races, index=False)
    results_df.to_csv(results, index=False)
    assert "4773.0" in results.read_text()
    tables = parse_history(races, results)
    assert list(tables.races["season"]) == [2019, 2025]
    assert set(tables.entries["car_number"]) >= {"11", "18", "41"}
    assert tables.results["laps_led"].max() == 205


def test_half_numbers_are_still_refused(tmp_path):
    races, results = _copy_history(tmp_path)
    _edit_results(results, 3, "finish_position", "2.5")
    with pytest.raises(UserInputError, match="line 3, field finish_position: '2.5' is not a whole"):
        parse_history(races, results)


def test_missing_car_numbers_are_bounded_warnings(tmp_path):
    races, results = _copy_history(tmp_path)
    for line in range(2, 12):
        _edit_results(results, line, "car_number", "")
    with collecting_warnings() as warned:
        tables = parse_history(races, results)
    assert tables.entries["car_number"].isna().all() and len(tables.entries) == 10
    (w,) = warned
    assert w.count == 10 and len(w.items) == limits.MAX_LISTED
    text = w.text("warning")
    assert "line 2, field car_number: missing value" in text and "... and 2 more" in text


def test_respelled_driver_is_one_driver_named_by_the_latest_race(tmp_path):
    races, results = _copy_history(tmp_path)
    tables = parse_history(races, results)
    names = dict(zip(tables.drivers["driver_id"], tables.drivers["name"]))
    assert names[4113] == "Daniel Suárez"
    assert names[4092] == "John H. Nemechek"
    assert names[3888] == "Ricky Stenhouse Jr"
    spelled = tables.spellings[tables.spellings["driver_id"] == 4092]
    assert set(spelled["name"]) == {"John Hunter Nemechek", "John H. Nemechek"}


def _unknown_names_salaries(path: Path, n: int) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Position", "Name + ID", "Name", "ID", "Roster Position", "Salary"])
        for i in range(n):
            w.writerow(["D", f"Nobody {i} ({10_000_000 + i})", f"Nobody {i}", 10_000_000 + i, "D",
                        5000])  # fmt: skip
    return path


def _known() -> pd.DataFrame:
    return pd.DataFrame({"driver_id": [1361, 4092], "name": ["Denny Hamlin", "John H. Nemechek"]})


def test_unknown_names_error_is_bounded_with_suggestions(tmp_path):
    p = _unknown_names_salaries(tmp_path / "DKSalaries.csv", 20_000)
    with pytest.raises(UserInputError) as exc:
        parse_salaries(p, "2025-phoenix", _known())
    msg = str(exc.value)
    assert "20000 name(s) match no known driver" in msg and "... and 19992 more" in msg
    assert "ingest aliases" in msg and len(msg) < 3000, len(msg)


def test_did_you_mean(tmp_path):
    with pytest.raises(UserInputError) as exc:
        parse_salaries(SAMPLES / "DKSalaries.csv", "2025-phoenix", pd.concat(
            [_known(), pd.DataFrame({"driver_id": [454, 4113, 3888],
                                     "name": ["Kyle Busch", "Daniel Suárez", "Ricky Stenhouse Jr"]})]
        ))  # fmt: skip
    msg = str(exc.value)
    assert "1 name(s) match no known driver: 'John Nemechek' (line 6; did you mean " in msg
    assert "John H. Nemechek (4092)" in msg


@pytest.mark.slow
def test_million_row_salary_file_of_unknown_names(tmp_path):
    """The attack run's 1M-row salary file printed a 30.8 MB error."""
    p = _unknown_names_salaries(tmp_path / "DKSalaries.csv", 1_000_000)
    with pytest.raises(UserInputError) as exc:
        parse_salaries(p, "2025-phoenix", _known())
    assert "... and 999992 more" in str(exc.value) and len(str(exc.value)) < 3000


def _add_race_column(path: Path, field: str, values: list[str]) -> None:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[0].append(field)
    for row, v in zip(rows[1:], values + [""] * len(rows)):
        row.append(v)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


def test_scheduled_laps_are_optional_and_range_checked(tmp_path):
    races, results = _copy_history(tmp_path)
    assert parse_history(races, results).races["scheduled_laps"].isna().all()  # no column
    _add_race_column(races, "scheduled_laps", ["200"])  # the first race's; the rest blank
    got = parse_history(races, results).races.sort_values("race_id")["scheduled_laps"]
    assert got.iloc[0] == 200 and got.iloc[1:].isna().all()
    (tmp_path / "bad").mkdir()
    races, results = _copy_history(tmp_path / "bad")  # a fresh copy
    _add_race_column(races, "scheduled_laps", ["0"])
    with pytest.raises(UserInputError) as exc:
        parse_history(races, results)
    assert "line 2, field scheduled_laps" in str(exc.value) and "is below" in str(exc.value)
