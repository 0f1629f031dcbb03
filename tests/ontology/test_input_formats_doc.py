"""Every example in docs/input-formats.md parses with the parser its section names, so the
documentation cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from nascar_pipeline.ontology.parsers.contest import parse_contest
from nascar_pipeline.ontology.parsers.fd_salaries import parse_fd_salaries
from nascar_pipeline.ontology.parsers.feed import parse_feed, parse_loopstats
from nascar_pipeline.ontology.parsers.history import parse_history
from nascar_pipeline.ontology.parsers.ownership import parse_ownership
from nascar_pipeline.ontology.parsers.salaries import parse_salaries
from nascar_pipeline.ontology.parsers.schedule import parse_schedule

DOC = Path(__file__).resolve().parents[2] / "docs" / "input-formats.md"
KNOWN = pd.DataFrame(
    {
        "driver_id": [1361, 454, 4113, 4092, 4092],
        "name": [
            "Denny Hamlin",
            "Kyle Busch",
            "Daniel Suárez",
            "John H. Nemechek",
            "John Nemechek",
        ],
    }
)


def examples() -> dict[str, list[str]]:
    """Section title -> its fenced csv/json blocks."""
    out: dict[str, list[str]] = {}
    for section in re.split(r"^## ", DOC.read_text(encoding="utf-8"), flags=re.M)[1:]:
        title = section.splitlines()[0].strip()
        out[title] = re.findall(r"```(?:csv|json)\n(.*?)```", section, flags=re.S)
    return out


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_every_input_has_a_section():
    titles = " | ".join(examples())
    for needle in ("History", "Weekend feed", "Schedule", "DKSalaries", "FanDuel", "Contest",
                   "Ownership", "Aliases", "Projections", "DKEntries"):  # fmt: skip
        assert needle in titles, needle


def test_examples_parse(tmp_path):
    ex = examples()
    races, results = ex["History: races.csv + results.csv"]
    h = parse_history(
        _write(tmp_path, "races.csv", races), _write(tmp_path, "results.csv", results)
    )
    assert len(h.results) == 3
    feed, loop = ex["Weekend feed JSON (NASCAR `weekend-feed.json`)"]
    f = parse_feed(_write(tmp_path, "feed.json", feed))
    assert list(f.races["status"]) == ["scheduled"] and len(f.entries) == 1
    assert 5274 in parse_loopstats(_write(tmp_path, "loop.json", loop))
    (schedule,) = ex["Schedule JSON (NASCAR `race_list_basic.json`)"]
    s = parse_schedule(_write(tmp_path, "schedule.json", schedule))
    assert list(s.races["race_key"]) == ["2026-richmond-cook-out-400"]
    (dk,) = ex["DraftKings salaries (DKSalaries.csv)"]
    assert len(parse_salaries(_write(tmp_path, "dk.csv", dk), "k", KNOWN).entries) == 2
    (fd,) = ex["FanDuel players CSV"]
    assert len(parse_fd_salaries(_write(tmp_path, "fd.csv", fd), "k", KNOWN).entries) == 2
    (contest,) = ex["Contest file (JSON)"]
    assert len(parse_contest(_write(tmp_path, "contest.json", contest), "k").contests) == 2
    (own,) = ex["Ownership: DraftKings contest standings CSV"]
    assert len(parse_ownership(_write(tmp_path, "own.csv", own), "k", KNOWN).entries) == 2


def test_aliases_example_parses(tmp_path):
    from nascar_pipeline.ontology.parsers.aliases import parse_aliases

    (aliases,) = examples()["Aliases file"]
    known = KNOWN[KNOWN["name"] != "John Nemechek"]
    got = parse_aliases(_write(tmp_path, "aliases.csv", aliases), known).aliases
    assert list(zip(got["alias"], got["driver_id"])) == [("John Nemechek", 4092)]


def test_dkentries_example_parses():
    from nascar_pipeline.core.dk_entries import entries_per_contest, parse_entries

    (entries,) = examples()["DraftKings entries (DKEntries.csv)"]
    parsed = parse_entries(entries)
    assert entries_per_contest(parsed) == {"180001234": 2, "180005678": 1}
    assert parsed.players == {39571001: "Denny Hamlin", 39571005: "John Nemechek"}


@pytest.mark.parametrize("title", ["Projections CSV", "DraftKings entries (DKEntries.csv)"])
def test_placeholders_present(title):
    assert title in examples()
