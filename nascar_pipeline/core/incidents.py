"""Race incidents: the scenarios' calibration of the finishing order's shape (issue 15).

The model's finishing order is Plackett-Luce on the latent performance, with Gumbel noise of a
fixed shape. Real finishing orders are more peaked and heavier-tailed than that: most cars
finish near where their pace puts them, a few lose many places to a spin, a pit penalty or a
late wreck they survive (a DNF is already its own mechanism). A Plackett-Luce fitted to such
orders takes the outliers as noise and flattens the performances, so each car's predicted
points are too wide in the middle (2025, production settings: 54.5 % of the outcomes inside
the 50 % intervals by randomized PIT, where 50 % is calibrated).

The scenarios therefore draw the order as
    utility = sharpen * perf + dnf_penalty * dnf - cost * incident,
    incident ~ Bernoulli(rate) for each car that runs to the end,
with (sharpen, rate, cost) tuned by the season backtest on a season before the one it is judged
on (`benchmarks/tune_incidents.py`), like the likelihood's recency. It is a predictive layer
over the fitted model, not a term of its likelihood: the marginal Plackett-Luce probability
over 2^N incident configurations has no closed form, and per-start latent noise would add a
bimodal coordinate per start to the sampler. The backtest scores the order of these scenarios
by the same mixture (core/backtest.py order_loglik_dnf_mixture draws incident flags too).

The tuning's figures are beside TUNED below. A track type can take its own setting
(`by_track_type`) or be left off (`off_track_types`): pack racing and road courses do not
scatter a field the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nascar_pipeline.core.tables import TRACK_TYPES


@dataclass(frozen=True)
class Incidents:
    """sharpen: multiplies the performance in the order's utility; rate: each running car's
    chance of an incident in a race; cost: the utility an incident takes away;
    off_track_types: track types whose races draw the order as fitted (OFF);
    by_track_type: (track type, sharpen, rate, cost) for track types with their own setting."""

    sharpen: float = 1.0
    rate: float = 0.0
    cost: float = 0.0
    off_track_types: tuple[str, ...] = ()
    by_track_type: tuple[tuple[str, float, float, float], ...] = ()

    def __post_init__(self):
        types = {_track_type(t) for t in self.off_track_types}
        own: dict[str, tuple[float, float, float]] = {}
        for row in self.by_track_type:
            if len(row) != 4:
                raise ValueError(
                    f"incidents: by_track_type rows are (track type, sharpen, rate, cost), got {row!r}"
                )
            t = _track_type(row[0])
            if t in own or t in types:
                raise ValueError(f"incidents: track type {t!r} is given two settings")
            own[t] = Incidents(*(float(v) for v in row[1:])).as_tuple()  # checked like the base
        # One spelling per way of drawing a race (what --resume compares): a track type's own
        # setting that draws no incidents is a track type left off, one equal to the base is
        # the base, and nothing is left off a base that is off.
        base = (float(self.sharpen), float(self.rate), float(self.cost))
        types |= {t for t, v in own.items() if _off(v)}
        own = {t: v for t, v in own.items() if not _off(v) and v != base}
        if _off(base):  # one spelling of a base that draws nothing, nothing left off it
            types = set()
            for name, value in zip(("sharpen", "rate", "cost"), OFF_VALUES):
                object.__setattr__(self, name, value)
        # frozen: hashable, one order
        object.__setattr__(self, "off_track_types", tuple(sorted(types)))
        object.__setattr__(self, "by_track_type", tuple((t, *own[t]) for t in sorted(own)))
        if not all(math.isfinite(v) for v in (self.sharpen, self.rate, self.cost)):
            raise ValueError(f"incidents: every value must be finite, got {self.as_tuple()}")
        if not self.sharpen > 0:
            raise ValueError(f"incidents: sharpen must be > 0, got {self.sharpen}")
        if not 0.0 <= self.rate < 1.0:
            raise ValueError(f"incidents: rate must be in [0, 1), got {self.rate}")
        if not self.cost >= 0:
            raise ValueError(f"incidents: cost must be >= 0, got {self.cost}")

    @property
    def off(self) -> bool:
        """Draws every race as fitted: the base and each track type's own setting are off."""
        return _off(self.as_tuple()) and all(_off(row[1:]) for row in self.by_track_type)

    def canonical(self) -> Incidents:
        """OFF for every setting that draws no incidents (it simulates as OFF does)."""
        return OFF if self.off else self

    def as_tuple(self) -> tuple[float, float, float]:
        return (float(self.sharpen), float(self.rate), float(self.cost))

    def for_track_type(self, track_type: str) -> Incidents:
        """The setting a race of `track_type` is simulated and scored with."""
        if track_type in self.off_track_types:
            return OFF
        for t, *values in self.by_track_type:
            if t == track_type:
                return Incidents(*values).canonical()
        return Incidents(*self.as_tuple()).canonical()  # the base, without the track types

    def describe(self) -> str:
        """One line for logs: 'off' or the values, each track type's own and those left off."""
        if self.off:
            return "off"
        text = (
            "off"
            if _off(self.as_tuple())
            else "sharpen {}, rate {}, cost {}".format(*self.as_tuple())
        )
        extra = [f"{t}: {s}, {r}, {c}" for t, s, r, c in self.by_track_type]
        if self.off_track_types:
            extra.append(f"off on {', '.join(self.off_track_types)}")
        return text + (f" ({'; '.join(extra)})" if extra else "")

    def settings(self) -> dict:
        """The layer as recorded beside a backtest's per-race table (--resume compares it)."""
        c = self.canonical()
        out = {"incidents": list(c.as_tuple())}
        if c.off_track_types:
            out["incidents_off_on"] = list(c.off_track_types)
        if c.by_track_type:
            out["incidents_by_track_type"] = {t: [s, r, k] for t, s, r, k in c.by_track_type}
        return out

    @classmethod
    def parse(cls, text: str) -> Incidents:
        """'off', 'tuned', or 'SHARPEN,RATE,COST', optionally followed by track types' own:
        'SHARPEN,RATE,COST;road=2.5,0.1,2;superspeedway=off' (the CLI's and the run config's
        form)."""
        base, *own = [part.strip() for part in str(text).strip().lower().split(";")]
        if base == "tuned" and not own:
            return TUNED
        if base == "off" and not own:
            return OFF
        if base in ("off", "tuned"):
            raise ValueError(
                f"incidents {text!r}: track types' own settings follow SHARPEN,RATE,COST, "
                "not 'off' or 'tuned'"
            )
        values = _values(base, text)
        off_types, by_type = [], []
        for part in own:
            name, eq, setting = part.partition("=")
            if not eq:
                raise ValueError(
                    f"incidents {text!r}: expected TRACK_TYPE=off or TRACK_TYPE=SHARPEN,RATE,COST "
                    f"after ';', got {part!r}"
                )
            if setting.strip() == "off":
                off_types.append(name)
            else:
                by_type.append((name, *_values(setting, text)))
        return cls(*values, off_track_types=tuple(off_types), by_track_type=tuple(by_type))


def _values(part: str, text: str) -> tuple[float, float, float]:
    parts = part.split(",")
    if len(parts) != 3:
        raise ValueError(f"incidents: expected 'off', 'tuned' or 'SHARPEN,RATE,COST', got {text!r}")
    try:
        return tuple(float(p) for p in parts)
    except ValueError:
        raise ValueError(f"incidents {text!r}: SHARPEN,RATE,COST must be numbers") from None


OFF_VALUES = (1.0, 0.0, 0.0)


def _off(values) -> bool:
    sharpen, rate, cost = values
    return sharpen == 1.0 and (rate == 0.0 or cost == 0.0)


def _track_type(name) -> str:
    t = str(name).strip().lower()
    if t not in TRACK_TYPES:
        raise ValueError(f"incidents: unknown track type {t!r} (expected one of {TRACK_TYPES})")
    return t


OFF = Incidents()
# Chosen on 2024 by `benchmarks/tune_incidents.py --season 2024` (36 races, the model fitted
# on the races before each at 2 chains x (150 + 200), 4,000 scenarios per grid point). Against
# off (CRPS 13.131, randomized-PIT coverage 53.6 / 89.0 %, order log-likelihood -98.23 nats
# per race): (1.5, 0.1, 2) CRPS 13.019 (-0.85 %), PIT 50.8 / 88.9, order +0.03 nats; the best
# CRPS, (2, 0.2, 4): 12.987 (-1.10 %), PIT 50.3 / 87.8, but the order -2.31 nats (its
# importance-sampled score errs low as the incidents' weights spread). Kept: the first, which
# fixes the 50 % intervals without costing the order.
# Superspeedways left off: on 2024's 7 (`tune_incidents.py --season 2024 --track-type
# superspeedway --sharpen 1,1.25,1.5 --rate 0.1 --cost 2`) the layer made every figure worse
# there (CRPS +0.82 %, order -0.78 nats per race; PIT 50 % 48.5 -> 47.7, already calibrated):
# pack racing's order is as random as the fitted Plackett-Luce says, and its wrecks are DNFs.
# Judged on 2025 at production settings (README): the default of race_scenarios and backtest.
# Re-tuned per track type with the order scored by the conditional-posterior proposal
# (core/backtest.py), on 2024's 29 other races (`tune_incidents.py --season 2024 --track-type
# intermediate,road,short --sharpen 1.5,2,2.5 --rate 0.1,0.2 --cost 2,4`, its per-track-type
# pick): each track type takes its best CRPS among the points whose PIT coverage there is
# within 3 points of nominal at both levels and whose order log-likelihood is not below off.
# Intermediates (1.5, 0.1, 4): CRPS -0.1 % against (1.5, 0.1, 2) (13 races); road courses
# (2, 0.1, 4): -1.0 %, PIT 50 % 53.8 -> 49.3 (5 races); short tracks keep (1.5, 0.1, 2) (11
# races; the sharper points there left the 90 % intervals more than 3 points narrow).
# Together against off: CRPS -1.45 % (the common (1.5, 0.1, 2): -1.25 %), order +0.37 nats per
# race, PIT 50.2 / 89.3. One common point, (2, 0.1, 4), gave CRPS -1.68 % but PIT 50 % 47.1
# (the edge of the tolerance).
TUNED = Incidents(
    sharpen=1.5,
    rate=0.1,
    cost=4.0,
    off_track_types=("superspeedway",),
    by_track_type=(("road", 2.0, 0.1, 4.0), ("short", 1.5, 0.1, 2.0)),
)
