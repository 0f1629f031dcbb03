"""A DraftKings contest's winning score and cash line from its standings export (entries block).

The entries block (`Rank, ..., Points`) holds every entry's points, so:
- winning_score: the best score, exact;
- cash_line: the lowest score paid. The paid places come from the contest's payout table when the
  race's contest is known; otherwise the 80th-percentile score (rank ceil(0.2 x entries), about the
  cash line of a 20 %-paid GPP). Entries: the contest's field_size when known, else the rows of the
  file (DraftKings' export holds every entry). A file that stops before the cash rank (a trimmed
  export) gives no cash line, with a warning.

The facts go on the race's DraftKings contest: the one whose field_size equals the file's entries,
else the race's only DraftKings contest, else (no contest ingested) a new contest
`dk-standings-<race_key>`. With several candidates and none matching, nothing is attached (a
warning says which contest file to check).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from nascar_pipeline.ontology.parsers._common import warn

SITE = "draftkings"
PAID_SHARE_DEFAULT = 0.2  # the 80th-percentile score stands in for an unknown payout table


def standings_contest_id(race_key: str) -> str:
    return f"dk-standings-{race_key}"


def last_paid_place(payouts_json) -> int | None:
    if payouts_json is None or (isinstance(payouts_json, float) and math.isnan(payouts_json)):
        return None
    try:
        places = [int(p["max_place"]) for p in json.loads(str(payouts_json))]
    except (TypeError, ValueError, KeyError):
        return None
    return max(places) if places else None


def score_at_rank(ranks, points, rank: int) -> float | None:
    """The lowest score among entries ranked `rank` or better; None when the file stops before
    that rank."""
    r = pd.Series(list(ranks), dtype="int64")
    p = pd.Series(list(points), dtype="float64")
    if not len(r) or r.max() < rank:
        return None
    return float(p[r <= rank].min())


def _pick_contest(contests: pd.DataFrame | None, entries: int) -> tuple[dict | None, str]:
    """(the contest row to attach to or None for a new one, why)."""
    if contests is None or not len(contests):
        return None, "new"
    site = contests["site"].astype("string").str.lower().fillna(SITE)
    dk = contests[site == SITE]
    if not len(dk):
        return None, "new"
    size = pd.to_numeric(dk["field_size"], errors="coerce")
    same = dk[size == entries]
    if len(same) == 1:
        return same.iloc[0].to_dict(), "matched"
    if len(dk) == 1:
        return dk.iloc[0].to_dict(), "only"
    return None, "ambiguous"


def contest_facts(
    path: str | Path,
    race_key: str,
    ranks: list[int],
    points: list[float],
    contests: pd.DataFrame | None = None,
) -> list[dict]:
    """Zero or one contests-table row carrying winning_score and cash_line."""
    if not ranks:
        return []
    n_rows = len(ranks)
    contest, how = _pick_contest(contests, n_rows)
    if how == "ambiguous":
        ids = ", ".join(sorted(str(c) for c in contests["contest_id"]))
        warn(
            path,
            "entries block",
            f"{n_rows} entries match the field_size of none of the race's DraftKings contests "
            f"({ids}): winning score and cash line not stored",
        )
        return []
    field_size = None
    if contest is not None and pd.notna(contest.get("field_size")):
        field_size = int(contest["field_size"])
    entries = field_size or n_rows
    paid = last_paid_place(contest.get("payouts")) if contest is not None else None
    cash_rank = paid or max(1, math.ceil(PAID_SHARE_DEFAULT * entries))
    cash = score_at_rank(ranks, points, cash_rank)
    if cash is None:
        warn(
            path,
            "entries block",
            f"the file stops at rank {max(ranks)} of {entries} entries, before the cash rank "
            f"{cash_rank}: no cash line stored (export every entry)",
        )
    row = {
        "contest_id": contest["contest_id"] if contest is not None else None,
        "race_key": race_key,
        "winning_score": float(max(points)),
        "cash_line": cash,
    }
    if contest is None:  # no contest ingested: the standings' own contest
        row.update(
            contest_id=standings_contest_id(race_key),
            site=SITE,
            name=f"DraftKings contest (standings {Path(path).name})",
            field_size=n_rows,
        )
    return [row]
