"""Extra inputs of `nascar-pipeline backtest`: more history files (a race week), real DraftKings
slates and real contest facts, in the shared data's layouts, joined onto the history tables.

- race week: a folder with races.csv + results.csv in the history layout (e.g.
  <NASCAR_SHARED_DATA>/raceweek_2026_sonoma), appended to the history;
- slates CSV (`slate, source, name, salary, ...`; draftkings/slates_2026.csv): each slate's
  salaries go on the entries of the race run on the slate's date (its name starts YYYY-MM-DD__);
- contests CSV (`contest_date, slate, entries, winning_score, score_p80`; draftkings/
  contests_2026.csv): one DraftKings contest per row on the race run that day, its cash line the
  80th-percentile score.
A race without a slate or without contests is simply not graded for money. Names are matched as
the salary parser matches them; an unmatched name is a user error naming the file and line.
"""

from __future__ import annotations

from pathlib import Path

from nascar_pipeline.errors import UserInputError

# pandas and the tables load with the handler (the CLI imports every command module at start)


def merge_tables(a, b):
    """a with b's rows added (b wins on the same race / driver / entry / result)."""
    import pandas as pd

    from nascar_pipeline.core.tables import OntologyTables, conform

    keys = {
        "races": ["race_key"],
        "drivers": ["driver_id"],
        "entries": ["race_key", "driver_id"],
        "results": ["race_key", "driver_id"],
        "contests": ["contest_id"],
    }
    out = {}
    for name, k in keys.items():
        both = pd.concat([conform(name, getattr(a, name)), conform(name, getattr(b, name))])
        out[name] = both.drop_duplicates(k, keep="last").reset_index(drop=True)
    return OntologyTables(**out)


def _race_on(tables, date: str) -> str | None:
    r = tables.races[tables.races["race_date"].astype(str) == date]
    return str(r["race_key"].iloc[0]) if len(r) == 1 else None


def attach_slates(tables, path: Path):
    """Salaries of each slate whose date is a race's: (tables, race keys given a slate)."""
    import pandas as pd

    from nascar_pipeline.core.tables import conform
    from nascar_pipeline.ontology.parsers.names import NameMatcher

    df = pd.read_csv(path)
    missing = {"slate", "name", "salary"} - set(df.columns)
    if missing:
        raise UserInputError(f"file {path}, line 1: missing column(s) {', '.join(sorted(missing))}")
    known = tables.drivers[["driver_id", "name"]]
    entries = tables.entries.copy()
    done = []
    for slate, g in df.groupby("slate", sort=True):
        key = _race_on(tables, str(slate).split("__")[0])
        if key is None:
            continue
        ids = entries.loc[entries["race_key"] == key, "driver_id"].astype(int)
        matcher = NameMatcher(known, ids)
        for line, row in g.iterrows():
            did, why = matcher.match(str(row["name"]))
            if did is None:
                raise UserInputError(
                    f"file {path}, line {line + 2}, field name: {row['name']!r} {why}"
                )
            at = (entries["race_key"] == key) & (entries["driver_id"] == did)
            entries.loc[at, "salary"] = int(row["salary"])
        done.append(key)
    tables.entries = conform("entries", entries)
    return tables, done


def attach_contests(tables, path: Path):
    """One DraftKings contest per row on the race of its date: (tables, race keys given one)."""
    import pandas as pd

    from nascar_pipeline.core.tables import conform

    df = pd.read_csv(path)
    need = {"contest_date", "slate", "entries", "winning_score", "score_p80"}
    if need - set(df.columns):
        raise UserInputError(
            f"file {path}, line 1: missing column(s) {', '.join(sorted(need - set(df.columns)))}"
        )
    rows, done = [], []
    for line, r in df.iterrows():
        key = _race_on(tables, str(r["contest_date"]))
        if key is None:
            continue
        rows.append(
            {
                "contest_id": f"{path.stem}:{line + 2}",
                "race_key": key,
                "site": "draftkings",
                "name": f"{r['slate']} ({int(r['entries'])} entries)",
                "field_size": int(r["entries"]),
                "winning_score": float(r["winning_score"]),
                "cash_line": float(r["score_p80"]),
            }
        )
        done.append(key)
    if rows:
        tables.contests = conform(
            "contests", pd.concat([tables.contests, pd.DataFrame(rows)], ignore_index=True)
        )
    return tables, sorted(set(done))
