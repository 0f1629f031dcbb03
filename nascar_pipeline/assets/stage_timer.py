"""Stage timings for an asset's materialization: `stage_seconds` metadata (one number per named
stage, plus the total), so an operator sees in the Dagster UI where a race's minute went.

    timer = StageTimer()
    with timer.stage("simulate"):
        ...
    timer.lap("checks")  # the seconds since the last stage or lap ended
    context.log.info(f"race_scenarios: {timer.line()}")
    return Output(df, metadata={..., **timer.metadata()})

A stage entered twice (a loop over contests) adds up; the total runs from the timer's creation,
so time spent outside any named stage still counts."""

import time
from contextlib import contextmanager

from dagster import MetadataValue

STAGE_SECONDS_KEY = "stage_seconds"


class StageTimer:
    def __init__(self):
        self._start = time.perf_counter()
        self._mark = self._start
        self._seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self._mark = time.perf_counter()
            self._seconds[name] = self._seconds.get(name, 0.0) + self._mark - t0

    def lap(self, name: str, within: dict[str, float] | None = None) -> None:
        """Close stage `name`: the seconds since the last stage or lap ended (or the timer
        started), so straight-line code marks its stages without re-indenting. `within`: parts
        of this lap a library timed itself (the fit's compile, warm-up, sampling): each is
        recorded under its own name and `name` keeps the rest."""
        now = time.perf_counter()
        rest = now - self._mark
        for part, sec in (within or {}).items():
            sec = min(max(float(sec), 0.0), rest)
            self._seconds[part] = self._seconds.get(part, 0.0) + sec
            rest -= sec
        self._seconds[name] = self._seconds.get(name, 0.0) + rest
        self._mark = now

    def seconds(self) -> dict[str, float]:
        """Each stage's seconds in the order first entered, then `total`, rounded to 10 ms."""
        out = {k: round(v, 2) for k, v in self._seconds.items()}
        out["total"] = round(time.perf_counter() - self._start, 2)
        return out

    def metadata(self) -> dict:
        return {STAGE_SECONDS_KEY: MetadataValue.json(self.seconds())}

    def line(self) -> str:
        """'load 0.21 s, simulate 3.10 s, total 3.40 s' for the run log."""
        return ", ".join(f"{k} {v:.2f} s" for k, v in self.seconds().items())
