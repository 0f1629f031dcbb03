"""How each race of a benchmarked backfill came through race_model_fit's convergence gate, and
the season's summary (bench_orchestration.py --daemon). Pure functions over plain dicts, so
tests/automation/test_backfill_outcomes.py checks them without a daemon.

A race's record (read from the instance by bench_orchestration.py):
    race_key, status (the run group's outcome), seconds (first run's start to last run's end),
    runs (how many runs the race took), fit (race_model_fit's materialization metadata, or None
    when it never materialized: gate_passed, attempts_count, stale_model, attempts [{rhat_max,
    ess_bulk_min, divergences, seconds, problems, ...}]), failed_checks, lineups (whether
    lineup_portfolio materialized; None where the backfill did not select it: a model-only
    backfill, e.g. of real history without salaries), load_1m (the 1-minute load average when
    its runs were seen to end; optional).
"""

from __future__ import annotations

import re

# The gate's outcomes, in the order the summary lists them.
FIRST = "first attempt"
REFIT = "after re-fit"
STALE = "stale model"  # every attempt failed; an earlier race's good fit stood in (check warns)
FAILED = "gate failed"  # every attempt failed and no stale fallback: the check blocked
NO_FIT = "no fit"  # race_model_fit never materialized (a step failed before or in it)
GATE_OUTCOMES = (FIRST, REFIT, STALE, FAILED, NO_FIT)


def gate_outcome(record: dict) -> str:
    """Which of GATE_OUTCOMES a race's fit reached."""
    fit = record.get("fit")
    if not fit:
        return NO_FIT
    if fit.get("gate_passed"):
        return FIRST if int(fit.get("attempts_count", 1)) <= 1 else REFIT
    return STALE if fit.get("stale_model") else FAILED


def blocked(record: dict) -> bool:
    """The race got no lineups (a blocking check failed or a step failed before them); in a
    backfill without lineups (lineups None), its runs did not succeed."""
    if record.get("lineups") is None:
        return record.get("status") != "SUCCESS"
    return not record["lineups"]


def _products(record: dict) -> str:
    """What the race got, as race_line prints it (and _LINE reads it back)."""
    if record.get("lineups") is None:
        return "BLOCKED (model only)" if blocked(record) else "model only"
    return "BLOCKED (no lineups)" if blocked(record) else "lineups"


def race_line(record: dict) -> str:
    """One printed line per race: outcome, time, and every attempt's R-hat / ESS."""
    fit = record.get("fit") or {}
    attempts = "; ".join(
        f"#{a.get('attempt', i + 1)} R-hat {a['rhat_max']:.4f} ESS {a['ess_bulk_min']:.0f}"
        f" div {a.get('divergences', 0)}"
        + (" form off" if a.get("form") is False else "")
        + ("" if a.get("passed") else f" ({a.get('problems', 'failed')})")
        for i, a in enumerate(fit.get("attempts") or [])
    )
    checks = ", ".join(record.get("failed_checks") or []) or "none"
    return (
        f"{record['race_key']}: {gate_outcome(record)}, "
        f"{_products(record)}, "
        + (f"loop data {'on' if fit['loop_data'] else 'off'}, " if "loop_data" in fit else "")
        + f"{record['seconds']:.1f} s, {record.get('runs', 1)} run(s), status {record['status']}"
        + (f", load {record['load_1m']:.2f}" if record.get("load_1m") is not None else "")
        + f" | attempts: {attempts or 'none'} | failed checks: {checks}"
    )


def _passed_form_off(record: dict) -> bool:
    passing = [a for a in (record.get("fit") or {}).get("attempts") or [] if a.get("passed")]
    return bool(passing) and passing[-1].get("form") is False


def summarize(records: list[dict]) -> dict:
    """Counts by gate outcome, races blocked, and run time per race (mean, max)."""
    seconds = [float(r["seconds"]) for r in records]
    said = [r["fit"] for r in records if "loop_data" in (r.get("fit") or {})]
    loads = [float(r["load_1m"]) for r in records if r.get("load_1m") is not None]
    counts = {k: 0 for k in GATE_OUTCOMES}
    for r in records:
        counts[gate_outcome(r)] += 1
    return {
        "races": len(records),
        "gate": counts,
        "passed": counts[FIRST] + counts[REFIT],
        # re-fits that passed only without trailing form (race_model_fit drops it after a
        # failure longer chains do not mend: core/model/escalation.py drop_form_after)
        "passed_form_off": sum(gate_outcome(r) == REFIT and _passed_form_off(r) for r in records),
        "blocked": sum(blocked(r) for r in records),
        # fits that read loop data, of those whose record says (None: none says, an older log)
        "loop_data_on": sum(bool(f["loop_data"]) for f in said) if said else None,
        "loop_data_fits": len(said),
        "run_s_mean": round(sum(seconds) / len(seconds), 1) if seconds else None,
        "run_s_max": round(max(seconds), 1) if seconds else None,
        "not_passed": [r["race_key"] for r in records if gate_outcome(r) not in (FIRST, REFIT)],
        "load_1m_mean": round(sum(loads) / len(loads), 2) if loads else None,
    }


def summary_text(summary: dict, load: str) -> str:
    """The season's figures as printed at the end of the benchmark."""
    g = summary["gate"]
    lines = [
        f"races run: {summary['races']}; convergence gate passed {summary['passed']} of "
        f"{summary['races']} ({g[FIRST]} on the first attempt, {g[REFIT]} only after the "
        f"asset's re-fit, {summary.get('passed_form_off', 0)} of them without trailing form); failed every attempt: {g[STALE]} with a stale model, {g[FAILED]} "
        f"blocked at the gate; no fit: {g[NO_FIT]}",
        f"blocked (no lineups, or in a model-only backfill no model: a check or step "
        f"failed): {summary['blocked']}",
        f"time per race, run start to end: mean {summary['run_s_mean']} s, max "
        f"{summary['run_s_max']} s; load average {load}",
    ]
    if summary.get("loop_data_on") is not None:
        lines.append(
            f"loop data read by {summary['loop_data_on']} of {summary['loop_data_fits']} fits"
        )
    if summary["not_passed"]:
        lines.append(f"not through the gate: {', '.join(summary['not_passed'])}")
    return "\n".join(lines)


# race_line's own layout, read back: the summary of a log whose run was stopped early.
_LINE = re.compile(
    r"^(?:\[\d+/\d+\] )?(?P<race_key>\S+): (?P<outcome>[a-z -]+), "
    r"(?P<lineups>BLOCKED \((?:no lineups|model only)\)|lineups|model only), "
    r"(?:loop data (?P<loop>on|off), )?(?P<seconds>[\d.]+) s, (?P<runs>\d+) run\(s\), "
    r"status (?P<status>[A-Z_]+)(?:, load (?P<load>[\d.]+))? \| attempts: (?P<attempts>.*) \| failed checks: (?P<checks>.*)$"
)
# R-hat prints as inf (an attempt of fewer than 4 draws) or nan, ESS as inf or nan: read back
# as such, not dropped from the attempts
_ATTEMPT = re.compile(
    r"#(\d+) R-hat ([\d.]+|inf|nan) ESS (-?\d+|inf|nan) div (\d+)( form off)?( \(.*?\))?(?=; #|$)"
)


def parse_race_line(line: str) -> dict | None:
    """A record from one line race_line printed (None for any other line); the fit carries
    the outcome and each attempt's R-hat / ESS / divergences."""
    m = _LINE.match(line.strip())
    if not m or m["outcome"] not in GATE_OUTCOMES:
        return None
    attempts = [
        {
            "attempt": int(a[0]),
            "rhat_max": float(a[1]),
            "ess_bulk_min": float(a[2]),
            "divergences": int(a[3]),
            "form": not a[4],
            "passed": not a[5],
        }
        for a in _ATTEMPT.findall(m["attempts"])
    ]
    outcome = m["outcome"]
    fit = None
    if outcome != NO_FIT:
        fit = {
            "gate_passed": outcome in (FIRST, REFIT),
            "attempts_count": len(attempts) or 1,
            "stale_model": outcome == STALE,
            "attempts": attempts,
        }
        if m["loop"]:
            fit["loop_data"] = m["loop"] == "on"
    return {
        "race_key": m["race_key"],
        "status": m["status"],
        "seconds": float(m["seconds"]),
        "runs": int(m["runs"]),
        "fit": fit,
        "failed_checks": [] if m["checks"] == "none" else [m["checks"]],
        "lineups": None if "model only" in m["lineups"] else m["lineups"] == "lineups",
        "load_1m": float(m["load"]) if m["load"] else None,
    }
