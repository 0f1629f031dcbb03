"""Driver-name matching for files that name drivers instead of giving NASCAR ids (DraftKings).

Names are compared by a key that ignores case, accents, punctuation and the suffixes Jr., Sr.,
II, III, IV: "Martin Truex Jr." == "martin truex jr" == "Martin Truex"; "Daniel Suárez" ==
"Daniel Suarez"; "A.J. Allmendinger" == "AJ Allmendinger". When two known drivers share a key, the race's own entrants are preferred;
still ambiguous, the name is reported as ambiguous rather than guessed.
"""

from __future__ import annotations

import difflib
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
        self.shown: dict[str, str] = {}  # key -> a spelling to suggest
        for did, name in zip(drivers["driver_id"], drivers["name"]):
            if pd.isna(did) or pd.isna(name):
                continue
            key = name_key(name)
            self.by_key.setdefault(key, set()).add(int(did))
            self.shown.setdefault(key, f"{name} ({int(did)})")

    def suggest(self, name: str, n: int = 3) -> list[str]:
        """Up to `n` known spellings close to `name` ("Name (driver id)"), best first: by the
        normalized key (difflib), then by the last name alone."""
        key = name_key(name)
        keys = difflib.get_close_matches(key, self.by_key, n=n, cutoff=0.6)
        last = key.rsplit(" ", 1)[-1]
        if len(keys) < n and len(last) > 2:
            keys += [k for k in self.by_key if k.rsplit(" ", 1)[-1] == last and k not in keys]
        return [self.shown[k] for k in keys[:n]]

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
