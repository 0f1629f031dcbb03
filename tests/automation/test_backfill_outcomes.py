"""The backfill benchmark's per-race outcome and season summary (benchmarks/backfill_outcomes.py,
printed by bench_orchestration.py --daemon): each way through race_model_fit's convergence gate
is counted where it belongs, and the time per race is the records' own."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "backfill_outcomes.py"


@pytest.fixture(scope="module")
def bo():
    spec = importlib.util.spec_from_file_location("backfill_outcomes", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def attempt(n, rhat, ess, passed):
    return {
        "attempt": n,
        "rhat_max": rhat,
        "ess_bulk_min": ess,
        "divergences": 0,
        "passed": passed,
        "problems": "none" if passed else "R-hat max 1.0112 > 1.01",
    }


def record(key, seconds, fit, lineups=True, failed=()):
    return {
        "race_key": key,
        "status": "SUCCESS" if lineups else "FAILURE",
        "seconds": seconds,
        "runs": 1,
        "fit": fit,
        "failed_checks": list(failed),
        "lineups": lineups,
    }


FIRST = {"gate_passed": True, "attempts_count": 1, "stale_model": False,
         "attempts": [attempt(1, 1.004, 900.0, True)]}  # fmt: skip
REFIT = {"gate_passed": True, "attempts_count": 2, "stale_model": False,
         "attempts": [attempt(1, 1.0112, 380.0, False), attempt(2, 1.003, 1100.0, True)]}  # fmt: skip
STALE = {"gate_passed": False, "attempts_count": 3, "stale_model": True,
         "attempts": [attempt(i, 1.02, 200.0, False) for i in (1, 2, 3)]}  # fmt: skip
FAILED = {**STALE, "stale_model": False}


def test_each_outcome_is_counted_in_its_place(bo):
    recs = [
        record("a", 40.0, FIRST),
        record("b", 100.0, REFIT),
        record("c", 130.0, STALE, failed=["race_model_converged: stale model"]),
        record("d", 90.0, FAILED, lineups=False, failed=["race_model_converged"]),
        record("e", 10.0, None, lineups=False),
    ]
    assert [bo.gate_outcome(r) for r in recs] == [
        bo.FIRST,
        bo.REFIT,
        bo.STALE,
        bo.FAILED,
        bo.NO_FIT,
    ]
    s = bo.summarize(recs)
    assert s["races"] == 5
    assert s["gate"] == {bo.FIRST: 1, bo.REFIT: 1, bo.STALE: 1, bo.FAILED: 1, bo.NO_FIT: 1}
    assert s["passed"] == 2
    assert s["blocked"] == 2  # d and e got no lineups; the stale race still did
    assert s["not_passed"] == ["c", "d", "e"]
    assert s["run_s_mean"] == pytest.approx((40 + 100 + 130 + 90 + 10) / 5, abs=0.05)
    assert s["run_s_max"] == 130.0


def test_a_clean_season_reads_as_all_through_the_gate(bo):
    recs = [record(f"r{i}", 30.0 + i, FIRST if i % 3 else REFIT) for i in range(6)]
    s = bo.summarize(recs)
    assert (s["passed"], s["blocked"], s["not_passed"]) == (6, 0, [])
    text = bo.summary_text(s, "1.9")
    assert "passed 6 of 6 (4 on the first attempt, 2 only after" in text
    assert "not through the gate" not in text
    assert "load average 1.9" in text


def test_race_line_names_every_attempt(bo):
    line = bo.race_line(record("b", 100.0, REFIT))
    assert "after re-fit" in line and "100.0 s" in line
    assert "#1 R-hat 1.0112 ESS 380" in line and "R-hat max 1.0112 > 1.01" in line
    assert "#2 R-hat 1.0030 ESS 1100" in line
    blocked = bo.race_line(record("e", 10.0, None, lineups=False))
    assert "no fit" in blocked and "BLOCKED" in blocked


def test_a_printed_line_reads_back_as_its_record(bo):
    recs = [
        record("2026-texas-wurth-400", 270.7, STALE, failed=["race_model_converged: stale"]),
        record("2026-daytona-daytona-500", 197.3, FIRST),
        record("b", 100.0, REFIT),
        {
            **record("d", 90.0, FAILED, lineups=False, failed=["race_model_converged"]),
            "load_1m": 3.5,
        },
        record("e", 10.0, None, lineups=False),
    ]
    back = [bo.parse_race_line(f"[{i + 1}/36] {bo.race_line(r)}") for i, r in enumerate(recs)]
    assert [bo.gate_outcome(r) for r in back] == [bo.gate_outcome(r) for r in recs]
    assert [(r["seconds"], r["lineups"], r["status"]) for r in back] == [
        (r["seconds"], r["lineups"], r["status"]) for r in recs
    ]
    assert [a["rhat_max"] for a in back[2]["fit"]["attempts"]] == [1.0112, 1.003]
    assert [a["passed"] for a in back[2]["fit"]["attempts"]] == [False, True]
    assert [a["ess_bulk_min"] for a in back[0]["fit"]["attempts"]] == [200.0] * 3
    assert back[3]["load_1m"] == 3.5 and back[0]["load_1m"] is None
    assert bo.summarize(back)["gate"] == bo.summarize(recs)["gate"]
    assert bo.summarize(back)["load_1m_mean"] == 3.5


def test_other_lines_are_not_races(bo):
    for line in ("", "backfill bfiuowig: 36 races (--season 2026), load 8.86 / 7.28 / 4.32",
                 'sensor race run: {"full_race_run_s": 320.7}', "  \"backfill_s\": 138.0,"):  # fmt: skip
        assert bo.parse_race_line(line) is None


def test_a_re_fit_without_trailing_form_is_counted_and_reads_back(bo):
    first, second = attempt(1, 1.79, 3.0, False), {**attempt(2, 1.002, 1705.0, True), "form": False}
    fit = {"gate_passed": True, "attempts_count": 2, "stale_model": False,
           "attempts": [{**first, "form": True}, second]}  # fmt: skip
    recs = [record("t", 200.0, fit), record("b", 100.0, REFIT)]
    s = bo.summarize(recs)
    assert (s["gate"][bo.REFIT], s["passed_form_off"]) == (2, 1)
    assert "2 only after the asset's re-fit, 1 of them without trailing form" in bo.summary_text(
        s, "2"
    )
    line = bo.race_line(recs[0])
    assert "#2 R-hat 1.0020 ESS 1705 div 0 form off" in line
    back = bo.parse_race_line(line)
    assert [a["form"] for a in back["fit"]["attempts"]] == [True, False]
    assert [a["passed"] for a in back["fit"]["attempts"]] == [False, True]
    assert bo.summarize([back])["passed_form_off"] == 1


def test_an_attempt_of_infinite_or_undefined_r_hat_reads_back(bo):
    short = {**attempt(1, float("inf"), 0.0, False), "form": True}
    undefined = {**attempt(2, float("nan"), float("nan"), False), "form": True}
    fit = {"gate_passed": False, "attempts_count": 3, "stale_model": False,
           "attempts": [short, undefined, attempt(3, 1.004, 900.0, True)]}  # fmt: skip
    line = bo.race_line(record("t", 50.0, fit))
    assert "#1 R-hat inf ESS 0" in line and "#2 R-hat nan ESS nan" in line
    back = bo.parse_race_line(line)["fit"]["attempts"]
    assert [a["attempt"] for a in back] == [1, 2, 3]
    assert back[0]["rhat_max"] == float("inf") and math.isnan(back[1]["rhat_max"])
    assert back[2]["ess_bulk_min"] == 900.0


def test_a_model_only_backfill_is_blocked_only_by_a_failed_run(bo):
    # real history carries no salaries: its backfill selects the model assets, never lineups
    ok = {**record("a", 40.0, {**FIRST, "loop_data": True}), "lineups": None}
    bad = {**record("d", 90.0, FAILED, failed=["race_model_converged"]), "lineups": None}
    bad["status"] = "FAILURE"
    assert (bo.blocked(ok), bo.blocked(bad)) == (False, True)
    assert bo.summarize([ok, bad])["blocked"] == 1
    lines = [bo.race_line(ok), bo.race_line(bad)]
    assert "model only, loop data on," in lines[0] and "BLOCKED" not in lines[0]
    assert "BLOCKED (model only)" in lines[1]
    back = [bo.parse_race_line(line) for line in lines]
    assert [(r["lineups"], r["status"]) for r in back] == [(None, "SUCCESS"), (None, "FAILURE")]
    assert back[0]["fit"]["loop_data"] is True and "loop_data" not in back[1]["fit"]
    s = bo.summarize(back)
    assert s["loop_data_on"] == 1
    assert "loop data read by 1 of 1 fits" in bo.summary_text(s, "1.0")  # the other says not
    assert bo.summarize([record("b", 100.0, REFIT)])["loop_data_on"] is None
    assert bo.summarize(back)["blocked"] == 1
