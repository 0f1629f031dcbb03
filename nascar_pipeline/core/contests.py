"""The contests of a race and the entries each gets. Pure: DataFrames and records in, records out.

Contests come from the race_snapshot's entry rows (core/snapshot.py): the `contests` column (every
contest of the race, a JSON list sorted by contest_id, payouts nested), else the legacy
`contest_*` columns (one contest), else the stated default: a DraftKings-like GPP of 10,000
entries at $20 (core/contest.py default_gpp_payouts), the payout table every race without an
ingested contest has always had. The first contest is the one the legacy columns hold.

Entries per contest: the steering's `n_lineups` capped by the contest's `max_entries` (a
single-entry contest gets one lineup), unless the run config gives `entries_per_contest`
({contest_id: count}, e.g. the counts of a DraftKings entries file): then exactly those contests
get those counts, a count above the contest's max_entries is refused naming the contest, and a
contest it does not list gets no lineups. Only DraftKings contests get DraftKings portfolios.

Per-contest steering: a contest built with n lineups other than the steering's n_lineups keeps
every rule (locks, excludes, per-driver exposures as shares of its n lineups, groups, floor,
max_shared, taste); its global max exposure is the one asked for, or, unless one was asked for
and n > 3, the single-entry default (core/lineup_search.py default_global_max_exposure: 1.0 for
n <= 3, else 0.6): a global cap across one to three lineups would ban drivers, not spread them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nascar_pipeline.core import rules
from nascar_pipeline.core.errors import UserInputError

DEFAULT_CONTEST_ID = "default"  # contest_id of the stated default GPP (no contest ingested)
LEGACY_CONTEST_ID = "contest"  # contest_id of a legacy snapshot's contest that has none
DEFAULT_FIELD_SIZE = 10_000
DEFAULT_ENTRY_FEE = 20.0
MAX_LINEUPS = 150  # DraftKings' most entries per user in a contest (the steering's n_lineups cap)


@dataclass(frozen=True)
class Contest:
    """One contest of a race. field_size None: the default field (10,000); payouts None: the
    stated default GPP table (sized to the entries simulated)."""

    contest_id: str
    site: str = rules.DRAFTKINGS.name
    name: str = ""
    entry_fee: float = DEFAULT_ENTRY_FEE
    field_size: int | None = None
    max_entries: int | None = None
    payouts: tuple | None = None  # ({min_place, max_place, prize}, ...) or None
    source: str = "default"  # "contests" | "legacy" | "default"

    @property
    def is_draftkings(self) -> bool:
        return self.site == rules.DRAFTKINGS.name

    @property
    def label(self) -> str:
        """For messages: `dk-1 (Single Entry)`."""
        return f"{self.contest_id} ({self.name})" if self.name else self.contest_id

    def payout_table(self, n_entries: int):
        """The contest's payout table (core/contest.py PayoutTable) for a simulated contest of
        n_entries entries; the stated default GPP for n_entries when the contest has none.

        A contest of a known field size simulated with another number of entries (10,000 field
        lineups for a 34,482-entry GPP) gets its real table rescaled (core/payout_scaling.py:
        each simulated place pays the mean real prize of the real places it stands for), so its
        cash rate and expected ROI are the real contest's, not those of a table paying almost
        every simulated entry."""
        from nascar_pipeline.core.contest import (
            PayoutTable,
            default_gpp_payouts,
            payout_table_from_json,
        )
        from nascar_pipeline.core.payout_scaling import rescaled_prizes

        if self.payouts is None:
            return default_gpp_payouts(n_entries, self.entry_fee)
        table = payout_table_from_json([dict(p) for p in self.payouts], self.entry_fee)
        if not self.field_size or int(n_entries) == int(self.field_size):
            return table
        prizes = rescaled_prizes(table.prizes, int(self.field_size), int(n_entries))
        paid = np.flatnonzero(prizes > 0)
        prizes = prizes[: paid[-1] + 1] if paid.size else prizes[:0]
        return PayoutTable(entry_fee=table.entry_fee, prizes=prizes, source=table.source)

    def payout_note(self, n_entries: int) -> str:
        """How payout_table(n_entries) came about, for the run log."""
        if self.payouts is None:
            return f"the stated default GPP table for {n_entries:,} entries"
        if not self.field_size or int(n_entries) == int(self.field_size):
            return "the contest's payout table"
        return (
            f"the contest's payout table of {self.field_size:,} entries rescaled to "
            f"{n_entries:,} simulated"
        )

    def simulated_field_size(self, asked: int | None, cap: int | None = None) -> int:
        """Field lineups to simulate: the run config's `asked` (at most the contest's size when
        it has one), else the contest's size (10,000 without one); at most `cap`."""
        own = self.field_size or DEFAULT_FIELD_SIZE
        n = own if asked is None else (min(asked, self.field_size) if self.field_size else asked)
        return int(min(n, cap) if cap else n)


def _num(v, kind=float):
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return kind(v)


def _payouts(v) -> tuple | None:
    if v is None or (not isinstance(v, (list, str)) and pd.isna(v)):
        return None
    rows = json.loads(v) if isinstance(v, str) else v
    return tuple(tuple(sorted(dict(r).items())) for r in rows) if rows else None


def _site(v) -> str:
    s = _num(v, str)
    s = (s or rules.DRAFTKINGS.name).strip().lower()
    return {"dk": "draftkings", "fd": "fanduel"}.get(s, s)


def contest_from_record(rec: Mapping, source: str = "contests") -> Contest:
    """A Contest from one object of the snapshot's `contests` list (the contest parser's fields:
    contest_id, site, name, entry_fee, field_size, max_entries, payouts)."""
    cid = _num(rec.get("contest_id"), str) or LEGACY_CONTEST_ID
    fee = _num(rec.get("entry_fee"))
    return Contest(
        contest_id=cid,
        site=_site(rec.get("site")),
        name=_num(rec.get("name"), str) or "",
        entry_fee=DEFAULT_ENTRY_FEE if fee is None else fee,
        field_size=_num(rec.get("field_size"), int),
        max_entries=_num(rec.get("max_entries"), int),
        payouts=_payouts(rec.get("payouts")),
        source=source,
    )


def default_contest() -> Contest:
    return Contest(contest_id=DEFAULT_CONTEST_ID, name="default GPP (no contest ingested)")


def contests_from_snapshot(snapshot: pd.DataFrame) -> list[Contest]:
    """Every contest of the race (sorted by contest_id), from the snapshot's `contests` column,
    else its legacy `contest_*` columns, else [the stated default contest]."""
    e = snapshot[snapshot["role"] == "entry"] if "role" in snapshot else snapshot
    if "contests" in e and e["contests"].notna().any():
        items = json.loads(str(e["contests"].dropna().iloc[0]))
        if items:
            out = [contest_from_record(r) for r in items]
            return sorted(out, key=lambda c: c.contest_id)
    has = [c for c in ("contest_payouts", "contest_field_size") if c in e and e[c].notna().any()]
    if has:
        row = e[e[has[0]].notna()].iloc[0]
        rec = {
            "contest_id": row.get("contest_id"),
            "site": row.get("contest_site"),
            "entry_fee": row.get("contest_entry_fee"),
            "field_size": row.get("contest_field_size"),
            "max_entries": row.get("contest_max_entries"),
            "payouts": row.get("contest_payouts"),
        }
        if "contest_field_size" in e and pd.isna(rec["field_size"]):
            # as before: the first field size given, whichever row holds it
            sizes = e["contest_field_size"].dropna()
            rec["field_size"] = sizes.iloc[0] if len(sizes) else None
        return [contest_from_record(rec, source="legacy")]
    return [default_contest()]


# ----------------------------------------------------------------------------- entries


class ContestEntriesError(UserInputError):
    """entries_per_contest cannot be met (names the contest and the limit)."""


@dataclass(frozen=True)
class Allocation:
    """The lineups one contest gets and why (for the run log and the metadata)."""

    contest: Contest
    n_lineups: int
    why: str


def allocate_entries(
    contests: list[Contest],
    n_lineups: int,
    entries_per_contest: Mapping[str, int] | None = None,
) -> tuple[list[Allocation], list[str]]:
    """(the DraftKings contests that get lineups, with their counts; notes on the contests that
    get none). Raises ContestEntriesError before any heavy work: an entries_per_contest id that
    is no contest of the race, a count above the contest's max_entries (or DraftKings' 150) or
    below 0, a FanDuel contest asked for DraftKings lineups, no lineups at all."""
    notes: list[str] = []
    by_id = {c.contest_id: c for c in contests}
    dk = [c for c in contests if c.is_draftkings]
    for c in contests:
        if not c.is_draftkings:
            notes.append(f"contest {c.label}: {c.site}, no DraftKings portfolio")
    if entries_per_contest:
        # keyed by the race's ids; DraftKings' own ids ('180001234' for 'dk-180001234') too
        bare = {_bare_id(c.contest_id): c for c in contests}
        resolved: dict[str, int] = {}
        problems = []
        for cid, n in entries_per_contest.items():
            c = by_id.get(str(cid)) or bare.get(_bare_id(cid))
            if c is not None:
                resolved[c.contest_id] = resolved.get(c.contest_id, 0) + int(n)
            if c is None:
                known = ", ".join(by_id) or "none"
                problems.append(f"contest {cid!r} is not a contest of this race (known: {known})")
            elif not c.is_draftkings:
                problems.append(f"contest {c.label} is a {c.site} contest, not DraftKings")
            elif n < 0:
                problems.append(f"contest {c.label}: {n} entries is negative")
            elif c.max_entries is not None and n > c.max_entries:
                problems.append(
                    f"contest {c.label}: {n} entries > its max_entries {c.max_entries} per user"
                )
            elif n > MAX_LINEUPS:
                problems.append(f"contest {c.label}: {n} entries > DraftKings' {MAX_LINEUPS}")
        if problems:
            raise ContestEntriesError("run config entries_per_contest: " + "; ".join(problems))
        entries_per_contest = resolved
        out = [
            Allocation(c, int(entries_per_contest[c.contest_id]), "entries_per_contest")
            for c in dk
            if int(entries_per_contest.get(c.contest_id, 0)) > 0
        ]
        notes += [
            f"contest {c.label}: no lineups (not in entries_per_contest)"
            for c in dk
            if int(entries_per_contest.get(c.contest_id, 0)) <= 0
        ]
        if not out:
            raise ContestEntriesError(
                "run config entries_per_contest: no DraftKings contest of this race gets a lineup"
            )
        return out, notes
    if not dk:  # only FanDuel contests ingested: the DraftKings build plays the default GPP
        notes.append(
            "no DraftKings contest ingested: the DraftKings portfolio plays the default GPP"
        )
        dk = [default_contest()]
    out = []
    for c in dk:
        if c.max_entries is not None and c.max_entries < n_lineups:
            kind = "single-entry" if c.max_entries == 1 else f"{c.max_entries}-max"
            why = (
                f"{kind} (max_entries {c.max_entries}): {c.max_entries} of the "
                f"{n_lineups} lineups asked"
            )
            out.append(Allocation(c, int(c.max_entries), why))
        else:
            out.append(Allocation(c, int(n_lineups), f"{n_lineups} lineups asked"))
    return out, notes


def _bare_id(contest_id) -> str:
    """A contest id without its site prefix: 'dk-180001234' -> '180001234'."""
    return re.sub(r"^(dk|fd|draftkings|fanduel)[-_:]", "", str(contest_id).strip(), flags=re.I)


def contest_steering(steering, n_lineups: int, global_max_asked: bool):
    """The steering of a contest built with n_lineups (module docstring): the steering itself
    when n_lineups is its own."""
    from nascar_pipeline.core.lineup_search import (
        SINGLE_ENTRY_MAX_LINEUPS,
        default_global_max_exposure,
    )
    from nascar_pipeline.core.steering import Steering

    if n_lineups == steering.n_lineups:
        return steering
    data = steering.model_dump()
    data["n_lineups"] = int(n_lineups)
    if not global_max_asked or n_lineups <= SINGLE_ENTRY_MAX_LINEUPS:
        data["global_max_exposure"] = default_global_max_exposure(n_lineups)
    return Steering.model_validate(data)


def contest_rng(seed: int, k: int) -> np.random.Generator:
    """The generator of the race's k-th contest: the first keeps `seed` (a one-contest race
    draws as before), the others their own streams."""
    return np.random.default_rng(seed if k == 0 else [seed, k])


def contest_record(c: Contest) -> dict:
    """A Contest as plain JSON values (metadata, the file beside the portfolio)."""
    return {
        "contest_id": c.contest_id,
        "site": c.site,
        "name": c.name,
        "entry_fee": c.entry_fee,
        "field_size": c.field_size,
        "max_entries": c.max_entries,
        "payout_table": "contest" if c.payouts is not None else "default",
    }
