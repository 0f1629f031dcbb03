"""Money grading of a backtested race, contest by contest. Pure: arrays and frames in, frames out.

Each of our lineups is graded against its own contest (the portfolio's `contest_id`): that
contest's real facts (cash line, winning score) where the race's contests hold them; a contest
without them against a field simulated from the real %Drafted (labelled `CASH_SIMULATED`, how in
`cash_note`): the cash line at the contest's own paid share (its payout table: a double-up pays
about 45 %, a GPP about 20 %), the winning score the best of a field of its own size (at most
SIMULATED_FIELD_MAX lineups); without real %Drafted, not graded. A lineup built for the stated
default GPP (no contest was ingested when it was built) or for a contest the race does not know
plays the race's stand-in contest (`stand_in_contest_id`: the real contest with facts, else the
largest field), the one race_backtest also ranks it in (assets/backtest.py score_by_contest).
Every other method's lineups (the MONEY_LINEUPS best by its projection) are graded against the
same contests, so the methods face the same ones.

`grade_contests` gives one row per (method, contest); `by_method` folds them into one row per
method (lineup-weighted cash rate, best lineup over the contests, any lineup at a winning score)
for the season report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nascar_pipeline.core.backtest import (
    CASH_REAL,
    build_lineups,
    contest_facts,
    largest_contest,
    paid_share,
    simulated_contest_facts,
)
from nascar_pipeline.core.contests import DEFAULT_CONTEST_ID, LEGACY_CONTEST_ID
from nascar_pipeline.core.race_scoring import grade_lineups, lineup_points

MIXED = "contest and simulated"  # cash_source of a method graded on both kinds
_UNNAMED = (DEFAULT_CONTEST_ID, LEGACY_CONTEST_ID)


def real_facts_by_contest(contests: pd.DataFrame | None) -> dict[str, dict]:
    """{contest_id: facts} of the race's DraftKings contests with a cash line or winning score."""
    if contests is None or not len(contests) or "cash_line" not in contests:
        return {}
    c = contests[contests["site"].astype("string").fillna("draftkings") == "draftkings"]
    c = c[c["cash_line"].notna() | c["winning_score"].notna()]

    def num(v):
        return None if pd.isna(v) else float(v)

    return {
        str(r["contest_id"]): {
            "contest_id": str(r["contest_id"]),
            "cash_line": num(r["cash_line"]),
            "winning_score": num(r.get("winning_score")),
            "source": CASH_REAL,
        }
        for _, r in c.iterrows()
    }


def stand_in_contest_id(contests: pd.DataFrame | None) -> str | None:
    """The contest an unnamed lineup (the stated default GPP's, or one of a contest the race does
    not know) plays, in money grading and in race_backtest's ranking alike: the race's
    DraftKings contest with real facts (the largest field of those, core/backtest.py
    contest_facts), else its largest DraftKings field; None without a contest."""
    real = contest_facts(contests)
    if real is not None:
        return real["contest_id"]
    big = largest_contest(contests)
    return None if big is None else str(big["contest_id"])


def _rows_by_id(contests: pd.DataFrame | None) -> dict[str, dict]:
    if contests is None or not len(contests) or "contest_id" not in contests:
        return {}
    return {str(r["contest_id"]): r.to_dict() for _, r in contests.iterrows()}


def grade_contests(
    salaries,
    actual_points,
    projections: dict,
    our_lineups: dict[str, np.ndarray] | None,
    contests: pd.DataFrame | None,
    own_pct=None,
    seed: int = 0,
    method: str = "model",
) -> pd.DataFrame:
    """One row per (method, contest): `our_lineups` ({contest_id: (K, 6) slate indices}, None
    without a portfolio) graded as `method`, each projection's MONEY_LINEUPS best lineups
    (built once) against the same contests. own_pct: (D,) real %Drafted for the simulated facts
    (None or all NaN: contests without real facts are not graded). Empty when nothing can be
    graded."""
    y = np.asarray(actual_points, dtype=np.float64)
    real = real_facts_by_contest(contests)
    rows_by_id = _rows_by_id(contests)
    stand_in = stand_in_contest_id(contests)
    fields: dict = {}  # one simulated field per size, shared by the contests of that size

    def simulated(cid: str) -> dict | None:
        if own_pct is None or not np.isfinite(np.asarray(own_pct, float)).any():
            return None
        row = rows_by_id.get(cid, {})
        size = pd.to_numeric(row.get("field_size"), errors="coerce")
        size = None if pd.isna(size) else int(size)
        share = paid_share(row) if row else None
        if (size, share) not in fields:
            own = np.nan_to_num(np.asarray(own_pct, np.float64))
            fields[size, share] = simulated_contest_facts(
                own, salaries, y, seed=seed, field_size=size, paid=share
            )
        return {**fields[size, share], "contest_id": cid}

    def facts_for(cid: str) -> dict | None:
        if cid in real:
            return real[cid]
        if stand_in is not None and (cid in _UNNAMED or cid not in rows_by_id):
            cid = stand_in  # an unnamed or unknown contest's lineup plays the stand-in
        return real.get(cid) or simulated(cid)

    ours: dict[str, np.ndarray] = {}
    graded: dict[str, dict] = {}
    for k, v in (our_lineups or {}).items():
        f = facts_for(str(k)) if len(v) else None
        if f is None:  # not gradable: no real facts, no real %Drafted
            continue
        key = f["contest_id"] or str(k)  # a default-GPP lineup lands on the stand-in contest
        idx = np.asarray(v, np.int64)
        ours[key] = np.concatenate([ours[key], idx]) if key in ours else idx
        graded[key] = f
    # no portfolio, or none of its contests gradable: the baselines still face the race's
    # stand-in contest (real facts, else simulated), as before per-contest grading
    if not graded:
        f = facts_for(DEFAULT_CONTEST_ID)
        graded = {f["contest_id"] or DEFAULT_CONTEST_ID: f} if f else {}
    if not graded:
        return pd.DataFrame()
    built = {m: build_lineups(p, salaries) for m, p in projections.items()}
    rows = []
    for cid, f in graded.items():
        for m, idx in ([(method, ours[cid])] if cid in ours else []) + list(built.items()):
            g = grade_lineups(lineup_points(idx, y), f["cash_line"], f["winning_score"])
            rows.append(
                {
                    "method": m,
                    "contest_id": cid,
                    **g,
                    "cash_source": f["source"],
                    "cash_note": f.get("note", ""),
                }
            )
    return pd.DataFrame(rows)


def by_method(money: pd.DataFrame) -> pd.DataFrame:
    """One row per method over its contests (rows of grade_contests, or a file written before
    grading was per contest: one row per method already): lineups summed, best lineup the best
    over the contests, cash rate lineup-weighted, beat_winner whether any lineup reached its
    contest's winning score, cash line and winning score the mean over the contests, best minus
    cash / winner the best over them, cash_source the one kind or MIXED."""
    if not len(money):
        return money

    def col(g, name, default=np.nan) -> pd.Series:  # older or hand-made files lack some
        return g[name].astype(float) if name in g else pd.Series(default, index=g.index)

    out = []
    for m, g in money.groupby("method", sort=False):
        n = col(g, "lineups", 1.0)
        rate = col(g, "cash_rate")
        ok = rate.notna() & (n > 0)
        src = sorted(set(g["cash_source"].astype(str))) if "cash_source" in g else [""]
        out.append(
            {
                "method": m,
                "contests": len(g),
                "contest_id": ", ".join(str(c) for c in g["contest_id"])
                if "contest_id" in g
                else "",
                "lineups": int(n.sum()),
                "best_points": float(col(g, "best_points").max()),
                "mean_points": float((col(g, "mean_points") * n).sum() / max(n.sum(), 1)),
                "cash_line": float(col(g, "cash_line").mean()),
                "winning_score": float(col(g, "winning_score").mean()),
                "cash_rate": float((rate[ok] * n[ok]).sum() / n[ok].sum()) if ok.any() else np.nan,
                "beat_winner": float(col(g, "beat_winner").max()),
                "best_minus_cash": float(col(g, "best_minus_cash").max()),
                "best_minus_winner": float(col(g, "best_minus_winner").max()),
                "cash_source": src[0] if len(src) == 1 else MIXED,
                "cash_note": "; ".join(
                    dict.fromkeys(n for n in g["cash_note"].fillna("").astype(str) if n)
                )
                if "cash_note" in g
                else "",
            }
        )
    return pd.DataFrame(out)
