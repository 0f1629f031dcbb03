"""A contest file (JSON) for one race -> contests table.

Format (one contest object, or a list of them, or {"contests": [...]}):

    {
      "contest_id": "dk-180001234",          # required, unique
      "site": "draftkings",                  # draftkings | fanduel
      "name": "NASCAR $100K Pit Stop",
      "entry_fee": 5,                        # dollars, >= 0
      "field_size": 23780,                   # entries, >= 1
      "max_entries": 150,                    # per user, 1..field_size
      "payouts": [                           # place ranges, best first
        {"min_place": 1, "max_place": 1, "prize": 10000},
        {"min_place": 2, "max_place": 2, "prize": 5000},
        {"min_place": 3, "max_place": 5, "prize": 1000}
      ],
      "winning_score": 341.7,                # optional, after the race: DK points of 1st place
      "cash_line": 212.35                    # optional: the lowest paid score (or the
    }                                        #   80th-percentile score), <= winning_score

Payout checks: ranges start at place 1, are contiguous and non-overlapping (each min_place is
the previous max_place + 1, min_place <= max_place), end within the field size, and prizes are
positive and non-increasing. Stored payouts are normalized JSON (sorted keys, prizes as floats).
`winning_score` and `cash_line` are DraftKings lineup points known after the race (the season
backtest grades lineups against them); absent or null leaves what is stored.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from nascar_pipeline.core.rules import SITES
from nascar_pipeline.core.tables import OntologyTables, conform
from nascar_pipeline.ontology.parsers import limits
from nascar_pipeline.ontology.parsers._common import (
    Problems,
    parse_float,
    parse_int,
    parse_text,
    read_json,
)

# DraftKings points of a whole lineup: six drivers, each at most ~190.
LINEUP_POINTS = (-500.0, 2000.0)


def _scores(c: dict, probs: Problems, where: str) -> tuple[float | None, float | None]:
    """The optional after-race facts, the cash line at most the winning score."""
    win, cash = (
        parse_float(
            c.get(f), probs, where, f, required=False, minimum=LINEUP_POINTS[0],
            maximum=LINEUP_POINTS[1],
        )
        for f in ("winning_score", "cash_line")
    )  # fmt: skip
    if win is not None and cash is not None and cash > win:
        probs.add(f"{where}, field cash_line", f"{cash} is above the winning score {win}")
    return win, cash


def _payouts(items, field_size: int | None, probs: Problems, w: str) -> str | None:
    if not isinstance(items, list) or not items:
        probs.add(w, "expected a non-empty list of {min_place, max_place, prize}")
        return None
    out = []
    prev_max, prev_prize = 0, None
    for k, p in enumerate(items):
        f = f"{w}.payouts[{k}]"
        if not isinstance(p, dict):
            probs.add(f, "expected an object {min_place, max_place, prize}")
            return None
        lo = parse_int(
            p.get("min_place"), probs, f, "min_place", minimum=1, maximum=limits.FIELD_SIZE[1]
        )
        hi = parse_int(
            p.get("max_place"), probs, f, "max_place", minimum=1, maximum=limits.FIELD_SIZE[1]
        )
        prize = parse_float(p.get("prize"), probs, f, "prize", maximum=limits.PRIZE[1])
        if lo is None or hi is None or prize is None:
            return None
        if lo > hi:
            probs.add(f, f"min_place {lo} is after max_place {hi}")
        if lo != prev_max + 1:
            probs.add(
                f"{f}, field min_place",
                f"{lo} should be {prev_max + 1}: ranges must start at 1 and be contiguous "
                + ("(gap)" if lo > prev_max + 1 else "(overlap)"),
            )
        if prize <= 0:
            probs.add(f"{f}, field prize", f"{prize} is not positive")
        if prev_prize is not None and prize > prev_prize:
            probs.add(
                f"{f}, field prize",
                f"{prize} is more than the better place's {prev_prize} (prizes must not increase)",
            )
        if field_size is not None and hi > field_size:
            probs.add(f"{f}, field max_place", f"{hi} is beyond the field size {field_size}")
        prev_max, prev_prize = hi, prize
        out.append({"min_place": lo, "max_place": hi, "prize": float(prize)})
    return json.dumps(out, sort_keys=True)


def parse_contest(path: str | Path, race_key: str) -> OntologyTables:
    data = read_json(path)
    probs = Problems(path)
    if isinstance(data, dict) and "contests" in data:
        items, prefix = data["contests"], "contests"
    elif isinstance(data, dict):
        items, prefix = [data], ""
    else:
        items, prefix = data, ""
    if not isinstance(items, list) or not items:
        probs.fail("top level", "expected a contest object or a non-empty list of contests")
    rows, seen = [], {}
    for i, c in enumerate(items):
        w = f"field {prefix}[{i}]" if len(items) > 1 or prefix else "field"
        if not isinstance(c, dict):
            probs.add(w, "expected an object")
            continue
        where = w if w != "field" else "contest"
        cid = parse_text(c.get("contest_id"), probs, where, "contest_id")
        if cid in seen:
            probs.add(f"{where}, field contest_id", f"duplicate contest {cid!r}")
        seen[cid] = i
        site = (parse_text(c.get("site"), probs, where, "site") or "").lower()
        site = {"dk": "draftkings", "fd": "fanduel"}.get(site, site)
        if site and site not in SITES:
            probs.add(f"{where}, field site", f"{site!r} is not one of {', '.join(SITES)}")
        field_size = parse_int(
            c.get("field_size"), probs, where, "field_size", minimum=1, maximum=limits.FIELD_SIZE[1]
        )
        max_entries = parse_int(
            c.get("max_entries"),
            probs,
            where,
            "max_entries",
            minimum=1,
            maximum=field_size or limits.FIELD_SIZE[1],
        )
        winning_score, cash_line = _scores(c, probs, where)
        rows.append(
            {
                "contest_id": cid,
                "race_key": race_key,
                "site": site or None,
                "name": parse_text(c.get("name"), probs, where, "name"),
                "entry_fee": parse_float(
                    c.get("entry_fee"),
                    probs,
                    where,
                    "entry_fee",
                    minimum=0,
                    maximum=limits.ENTRY_FEE[1],
                ),
                "field_size": field_size,
                "max_entries": max_entries,
                "payouts": _payouts(
                    c.get("payouts"),
                    field_size,
                    probs,
                    f"{w}.payouts" if w != "field" else "field payouts",
                ),
                "winning_score": winning_score,
                "cash_line": cash_line,
            }
        )
    probs.raise_if_any()
    return OntologyTables(contests=conform("contests", pd.DataFrame(rows)))
