"""Driver-name matching for files that name drivers instead of giving NASCAR ids (DraftKings).

Names are compared by a key that ignores case, accents, punctuation and the suffixes Jr., Sr.,
II, III, IV: "Martin Truex Jr." == "martin truex jr" == "Martin Truex"; "Daniel Suárez" ==
"Daniel Suarez"; "A.J. Allmendinger" == "AJ Allmendinger". When two known drivers share a key, the race's own entrants are preferred;
still ambiguous, the name is reported as ambiguous rather than guessed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import pandas as pd

_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}


def name_key(name: str) -> str:
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    # "A.J." == "AJ", "O'Neil" == "ONeil": periods and apostrophes join, other marks split.
    text = re.sub(r"[.'\u2019`]", "", text)
    words = [w for w in re.split(r"[^a-z0-9]+", text) if w]
    while len(words) > 1 and words[-1] in _SUFFIXES:
        words.pop()
    return " ".join(words)


class NameMatcher:
    """Matches names to driver ids among `drivers` (columns driver_id, name)."""

    def __init__(self, drivers: pd.DataFrame, prefer_ids: Iterable[int] = ()):
        self.prefer = {int(i) for i in prefer_ids}
        self.by_key: dict[str, set[int]] = {}
        for did, name in zip(drivers["driver_id"], drivers["name"]):
            if pd.isna(did) or pd.isna(name):
                continue
            self.by_key.setdefault(name_key(name), set()).add(int(did))

    def match(self, name: str) -> tuple[int | None, str | None]:
        """(driver_id, None) or (None, "unmatched" | "ambiguous: ids ...")."""
        ids = self.by_key.get(name_key(name), set())
        if len(ids) == 1:
            return next(iter(ids)), None
        if not ids:
            return None, "unmatched"
        preferred = ids & self.prefer
        if len(preferred) == 1:
            return next(iter(preferred)), None
        return None, f"ambiguous (driver ids {', '.join(map(str, sorted(ids)))})"
