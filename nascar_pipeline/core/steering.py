"""Steering: what a player asks of a build, validated once, checked against the slate before any
heavy work, and checked again on every lineup the build returns. Pure (pydantic, NumPy, pandas).

`Steering` is the one model a Dagster run config, a YAML/TOML file (`parse_steering`) and CLI
flags map onto: plain fields, lists of small records, driver ids as NASCAR's driver ids.

Exposure is a share of the lineups *returned*: a driver with max_exposure 0.6 is in at most
floor(0.6 * n) of n lineups and, with min_exposure 0.2, in at least ceil(0.2 * n). A per-driver
max replaces the global one for that driver; a locked driver is in every lineup (the global cap
does not apply to him, a per-driver max below 1 is a conflict).

Taste (0..1) sets the portfolio's objective (core/portfolio.py): a lineup L scores
    (1 - taste) * projection(L) / s_proj + taste * expected_payout(L) / s_ev
where expected_payout is against the field drawn from projected ownership (a driver the field
owns heavily adds little rank when he scores: that is the leverage) and s_proj, s_ev are the two
terms' spreads over the candidate lineups, so the weights compare like with like. taste = 0 is a
pure-projection build, 1 (the default, the pipeline's behaviour before steering) pure leverage.
The MCMC sampler targets that score; the greedy selection adds, per pick, (1 - taste) times the
lineup's projection and taste times its marginal gain in the set's expected payout (both scaled
as above). For the exact optimizer's linear objective, `linear_taste_objective` gives each
driver projection * (1 - taste * ownership): his points count only over the share of the field
that does not own him.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nascar_pipeline.core import rules
from nascar_pipeline.core.errors import UserInputError

_EPS = 1e-9


class InfeasibleSteering(UserInputError):
    """The steering cannot be met on this slate; `conflicts` names each conflicting rule."""

    def __init__(self, conflicts: Sequence[str]):
        self.conflicts = list(conflicts)
        super().__init__("steering cannot be met: " + "; ".join(self.conflicts))


# ----------------------------------------------------------------------------- the model


class DriverGroup(BaseModel):
    """'At least / at most k of these drivers' in every lineup: a team, a manufacturer, a list."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="shown in messages, e.g. 'Hendrick'")
    drivers: list[int] = Field(min_length=1, description="NASCAR driver ids")
    at_least: int | None = Field(None, ge=0, description="fewest of them in a lineup")
    at_most: int | None = Field(None, ge=0, description="most of them in a lineup")

    @field_validator("drivers")
    @classmethod
    def _distinct(cls, v: list[int]) -> list[int]:
        dup = sorted({d for d in v if v.count(d) > 1})
        if dup:
            raise ValueError(f"driver {dup[0]} listed twice")
        return v

    @model_validator(mode="after")
    def _bounds(self) -> DriverGroup:
        if self.at_least is None and self.at_most is None:
            raise ValueError(f"group '{self.name}': give at_least, at_most or both")
        if self.at_least is not None and self.at_most is not None and self.at_least > self.at_most:
            raise ValueError(
                f"group '{self.name}': at_least {self.at_least} > at_most {self.at_most}"
            )
        if self.at_least is not None and self.at_least > len(self.drivers):
            raise ValueError(
                f"group '{self.name}': at_least {self.at_least} of only {len(self.drivers)} drivers"
            )
        return self


class DriverExposure(BaseModel):
    """One driver's share of the lineups: at least `min`, at most `max` (fractions)."""

    model_config = ConfigDict(extra="forbid")

    driver: int = Field(description="NASCAR driver id")
    min: float = Field(0.0, ge=0.0, le=1.0)
    max: float | None = Field(None, ge=0.0, le=1.0, description="None: global_max_exposure")

    @model_validator(mode="after")
    def _order(self) -> DriverExposure:
        if self.max is not None and self.min > self.max + _EPS:
            raise ValueError(
                f"driver {self.driver}: min_exposure {self.min:g} > max_exposure {self.max:g}"
            )
        return self


class Steering(BaseModel):
    """A build's steering. Driver ids are NASCAR's; fractions are shares of the lineups."""

    model_config = ConfigDict(extra="forbid")

    n_lineups: int = Field(20, ge=1, le=150, description="lineups to build")
    lock: list[int] = Field(default_factory=list, description="drivers in every lineup")
    exclude: list[int] = Field(default_factory=list, description="drivers in no lineup")
    exposures: list[DriverExposure] = Field(
        default_factory=list, description="per-driver min / max share of the lineups"
    )
    global_max_exposure: float = Field(
        0.6, gt=0.0, le=1.0, description="max share of the lineups for any driver"
    )
    max_shared: int | None = Field(
        None, ge=0, description="most drivers two lineups share (None: roster size - 1)"
    )
    salary_floor: int = Field(0, ge=0, description="least salary a lineup uses")
    groups: list[DriverGroup] = Field(default_factory=list)
    taste: float = Field(
        1.0, ge=0.0, le=1.0, description="0: pure projection .. 1: full leverage vs ownership"
    )

    @field_validator("lock", "exclude")
    @classmethod
    def _distinct(cls, v: list[int]) -> list[int]:
        dup = sorted({d for d in v if v.count(d) > 1})
        if dup:
            raise ValueError(f"driver {dup[0]} listed twice")
        return v

    @field_validator("exposures")
    @classmethod
    def _one_entry_per_driver(cls, v: list[DriverExposure]) -> list[DriverExposure]:
        ids = [e.driver for e in v]
        dup = sorted({d for d in ids if ids.count(d) > 1})
        if dup:
            raise ValueError(f"driver {dup[0]} has two exposure entries")
        return v

    @field_validator("groups")
    @classmethod
    def _distinct_names(cls, v: list[DriverGroup]) -> list[DriverGroup]:
        names = [g.name for g in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"two groups named '{dup[0]}'")
        return v

    def driver_ids(self) -> set[int]:
        """Every driver id the steering names."""
        ids = set(self.lock) | set(self.exclude) | {e.driver for e in self.exposures}
        for g in self.groups:
            ids |= set(g.drivers)
        return ids


def load_config_data(text: str, fmt: str) -> dict:
    """The mapping in a YAML or TOML text (fmt: 'yaml', 'yml' or 'toml'): the steering file's
    and the build file's (core/build_file.py) one reader."""
    fmt = fmt.lower().lstrip(".")
    if fmt in ("yaml", "yml"):
        import yaml

        data = yaml.safe_load(text) or {}
    elif fmt == "toml":
        import tomllib

        data = tomllib.loads(text)
    else:
        raise ValueError(f"config format {fmt!r}: use yaml or toml")
    if not isinstance(data, dict):
        raise ValueError("the file must hold a mapping of settings")
    return data


def parse_steering(text: str, fmt: str) -> Steering:
    """A Steering from the text of a YAML or TOML file (fmt: 'yaml', 'yml' or 'toml'); a file
    may hold the fields at its top level or under a `steering` key."""
    data = load_config_data(text, fmt)
    if set(data) == {"steering"}:
        data = data["steering"]
    return Steering.model_validate(data)


def _flag_error(flag: str, value: str, problem: str) -> UserInputError:
    return UserInputError(f"{flag} {value!r}: {problem}")


def _flag_int(flag: str, value: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _flag_error(flag, value, f"{text!r} is not a driver id") from None


def parse_exposure_flag(value: str) -> dict:
    """`--exposure DRIVER=MIN:MAX` (either side may be empty: `4023=:0.3`, `4023=0.2:`) as an
    exposures entry."""
    flag = "--exposure"
    if "=" not in value or ":" not in value.split("=", 1)[1]:
        raise _flag_error(flag, value, "use DRIVER=MIN:MAX, e.g. 4023=0.1:0.5 or 4023=:0.3")
    driver, rng = value.split("=", 1)
    lo, hi = rng.split(":", 1)
    out: dict = {"driver": _flag_int(flag, value, driver.strip())}
    try:
        if lo.strip():
            out["min"] = float(lo)
        if hi.strip():
            out["max"] = float(hi)
    except ValueError:
        raise _flag_error(flag, value, "MIN and MAX are fractions such as 0.25") from None
    return out


def parse_group_flag(value: str) -> dict:
    """`--group NAME<=K:IDS`, `NAME>=K:IDS` or `NAME=LO..HI:IDS` (IDS comma-separated driver
    ids) as a groups entry, e.g. `Hendrick<=2:4023,4024,4025,4026`."""
    flag = "--group"
    head, sep, ids = value.rpartition(":")
    if not sep or not ids.strip():
        raise _flag_error(flag, value, "use NAME<=K:IDS, NAME>=K:IDS or NAME=LO..HI:IDS")
    drivers = [_flag_int(flag, value, t.strip()) for t in ids.split(",") if t.strip()]
    try:
        if "<=" in head:
            name, k = head.split("<=", 1)
            bounds = {"at_most": int(k)}
        elif ">=" in head:
            name, k = head.split(">=", 1)
            bounds = {"at_least": int(k)}
        elif "=" in head and ".." in head:
            name, rng = head.split("=", 1)
            lo, hi = rng.split("..", 1)
            bounds = {"at_least": int(lo), "at_most": int(hi)}
        else:
            raise ValueError
    except ValueError:
        raise _flag_error(flag, value, "use NAME<=K:IDS, NAME>=K:IDS or NAME=LO..HI:IDS") from None
    return {"name": name.strip(), "drivers": drivers, **bounds}


def steering_from_flags(
    base: Steering | None = None,
    *,
    lock: Sequence[int] = (),
    exclude: Sequence[int] = (),
    exposure: Sequence[str] = (),
    group: Sequence[str] = (),
    **fields,
) -> Steering:
    """A Steering from CLI flags over a base (a file's, or the defaults): lock, exclude, exposure
    and group flags add to the base's lists (an --exposure for a driver the base has replaces
    it); the other fields (n_lineups, global_max_exposure, max_shared, salary_floor, taste)
    replace the base's when given (None: keep)."""
    data = (base or Steering()).model_dump()
    data["lock"] = list(dict.fromkeys([*data["lock"], *lock]))
    data["exclude"] = list(dict.fromkeys([*data["exclude"], *exclude]))
    flagged = [parse_exposure_flag(v) for v in exposure]
    mine = {e["driver"] for e in flagged}
    data["exposures"] = [e for e in data["exposures"] if e["driver"] not in mine] + flagged
    data["groups"] = data["groups"] + [parse_group_flag(v) for v in group]
    data.update({k: v for k, v in fields.items() if v is not None})
    return Steering.model_validate(data)


# ----------------------------------------------------------------------------- on a slate


@dataclass(frozen=True)
class GroupRule:
    """A group over slate indices: at_least <= |lineup & members| <= at_most."""

    name: str
    members: np.ndarray  # slate indices
    at_least: int
    at_most: int


@dataclass(frozen=True)
class SteeringArrays:
    """The steering over one slate, as slate indices (the order of salaries and points).

    Per-lineup rules: roster_size, salary_cap, salary_floor, locks, banned (excluded or capped at
    zero lineups), groups. Portfolio rules: min_count / max_count (lineups per driver, of
    n_lineups), max_shared."""

    driver_ids: np.ndarray  # (D,) NASCAR driver ids
    names: np.ndarray  # (D,) display names
    salaries: np.ndarray  # (D,)
    roster_size: int
    salary_cap: float
    salary_floor: float
    n_lineups: int
    locks: np.ndarray
    banned: np.ndarray
    groups: tuple[GroupRule, ...]
    min_exposure: np.ndarray  # (D,) fractions (locks 1)
    max_exposure: np.ndarray  # (D,) fractions (locks 1, excludes 0)
    max_shared: int
    taste: float
    notes: list[str] = field(default_factory=list)

    @property
    def n_drivers(self) -> int:
        return int(self.driver_ids.size)

    def min_count(self, n: int | None = None) -> np.ndarray:
        """Least lineups of n (default n_lineups) each driver must be in."""
        n = self.n_lineups if n is None else n
        return np.ceil(self.min_exposure * n - _EPS).astype(np.int64)

    def max_count(self, n: int | None = None) -> np.ndarray:
        """Most lineups of n (default n_lineups) each driver may be in."""
        n = self.n_lineups if n is None else n
        return np.floor(self.max_exposure * n + _EPS).astype(np.int64)

    def lineup_ok(self, lineups) -> np.ndarray:
        """(B,) whether each lineup (slate indices) meets every per-lineup rule."""
        L = np.asarray(lineups, dtype=np.int64)
        if L.ndim != 2 or L.shape[0] == 0:
            return np.zeros(0 if L.ndim != 2 else L.shape[0], dtype=bool)
        inc = np.zeros((L.shape[0], self.n_drivers), dtype=bool)
        inc[np.repeat(np.arange(L.shape[0]), L.shape[1]), L.ravel()] = True
        tot = self.salaries[L].sum(axis=1)
        ok = (inc.sum(axis=1) == self.roster_size) & (L.shape[1] == self.roster_size)
        ok &= (tot <= self.salary_cap + _EPS) & (tot >= self.salary_floor - _EPS)
        if self.locks.size:
            ok &= inc[:, self.locks].all(axis=1)
        if self.banned.size:
            ok &= ~inc[:, self.banned].any(axis=1)
        for g in self.groups:
            c = inc[:, g.members].sum(axis=1)
            ok &= (c >= g.at_least) & (c <= g.at_most)
        return ok

    def who(self, d: int) -> str:
        return f"{self.names[d]} ({int(self.driver_ids[d])})"


def _fmt_money(x: float) -> str:
    return f"{x:,.0f}"


def resolve_steering(
    steering: Steering,
    driver_ids,
    salaries,
    *,
    names=None,
    roster_size: int = rules.DRAFTKINGS.roster_size,
    salary_cap: float = rules.DRAFTKINGS.salary_cap,
) -> SteeringArrays:
    """The steering over a slate (driver_ids and salaries in slate order). Raises
    InfeasibleSteering naming every driver id that is not on the slate (and its field)."""
    ids = np.asarray(driver_ids, dtype=np.int64)
    sal = np.asarray(salaries, dtype=np.float64)
    nm = np.asarray([str(i) for i in ids] if names is None else list(names), dtype=object)
    pos = {int(d): i for i, d in enumerate(ids)}
    unknown = []
    for fld, lst in (
        ("lock", steering.lock),
        ("exclude", steering.exclude),
        ("exposures", [e.driver for e in steering.exposures]),
    ):
        unknown += [f"{fld}: driver {d} is not on the slate" for d in lst if d not in pos]
    for g in steering.groups:
        unknown += [
            f"group '{g.name}': driver {d} is not on the slate" for d in g.drivers if d not in pos
        ]
    if unknown:
        raise InfeasibleSteering(unknown)
    D = ids.size
    locks = np.array(sorted(pos[d] for d in steering.lock), dtype=np.int64)
    excl = np.array(sorted(pos[d] for d in steering.exclude), dtype=np.int64)
    lo = np.zeros(D)
    hi = np.full(D, float(steering.global_max_exposure))
    for e in steering.exposures:
        lo[pos[e.driver]] = e.min
        if e.max is not None:
            hi[pos[e.driver]] = e.max
    per_driver_max = {pos[e.driver] for e in steering.exposures if e.max is not None}
    for d in locks:  # a lock is in every lineup; a per-driver max below 1 is checked later
        lo[d] = 1.0
        if d not in per_driver_max:
            hi[d] = 1.0
    hi[excl] = 0.0
    R = roster_size
    groups = tuple(
        GroupRule(
            name=g.name,
            members=np.array(sorted(pos[d] for d in g.drivers), dtype=np.int64),
            at_least=int(g.at_least or 0),
            at_most=int(R if g.at_most is None else min(g.at_most, R)),
        )
        for g in steering.groups
    )
    # R - 1 already means distinct lineups: a larger max_shared asks nothing more
    max_shared = R - 1 if steering.max_shared is None else min(int(steering.max_shared), R - 1)
    n = steering.n_lineups
    banned = np.union1d(excl, np.flatnonzero(np.floor(hi * n + _EPS) <= 0)).astype(np.int64)
    return SteeringArrays(
        driver_ids=ids,
        names=nm,
        salaries=sal,
        roster_size=R,
        salary_cap=float(salary_cap),
        salary_floor=float(steering.salary_floor),
        n_lineups=n,
        locks=locks,
        banned=banned,
        groups=groups,
        min_exposure=lo,
        max_exposure=hi,
        max_shared=max_shared,
        taste=float(steering.taste),
    )


def check_feasible(
    steering: Steering,
    slate: pd.DataFrame,
    site: rules.Site = rules.DRAFTKINGS,
    *,
    salary_column: str = "salary",
    exact: bool = True,
) -> SteeringArrays:
    """The steering over a slate (core/slate.py: driver_id, driver_name, salary, in slate order),
    or InfeasibleSteering naming every conflict found.

    Cheap arithmetic first (unknown drivers, lock/exclude overlaps, roster and cap, exposure
    sums, groups against excludes and caps, max_shared against locks); then, when those pass
    and `exact`, one exact solve (HiGHS) of a single lineup under every per-lineup rule proves
    one exists, and names the salary floor or the groups when none does."""
    names = slate["driver_name"].astype(str).to_numpy() if "driver_name" in slate else None
    sal_col = slate[salary_column]
    if sal_col.isna().any():
        raise ValueError(f"slate column {salary_column!r} has missing salaries")
    a = resolve_steering(
        steering,
        slate["driver_id"].to_numpy(np.int64),
        sal_col.to_numpy(float),
        names=names,
        roster_size=site.roster_size,
        salary_cap=site.salary_cap,
    )
    conflicts = _arithmetic_conflicts(steering, a)
    if conflicts:
        raise InfeasibleSteering(conflicts)
    if exact:
        conflicts = _exact_conflicts(a)
        if conflicts:
            raise InfeasibleSteering(conflicts)
    return a


def _arithmetic_conflicts(s: Steering, a: SteeringArrays) -> list[str]:
    R, N, cap = a.roster_size, a.n_lineups, a.salary_cap
    sal = a.salaries
    out: list[str] = []
    locks = set(a.locks.tolist())
    excluded = {i for i, d in enumerate(a.driver_ids) if int(d) in set(s.exclude)}
    for d in sorted(locks & excluded):
        out.append(f"driver {a.who(d)} is both locked and excluded")
    if len(locks) > R:
        out.append(f"lock of {len(locks)} drivers > roster size {R}")
    lk = sorted(locks)
    lock_cost = float(sal[lk].sum()) if lk else 0.0
    free = np.array([d for d in range(a.n_drivers) if d not in locks and d not in excluded])
    open_slots = R - len(locks)
    if 0 <= open_slots and len(free) < open_slots:
        out.append(f"only {len(locks) + len(free)} drivers left after excludes for a roster of {R}")
    elif len(locks) <= R and lk:
        cheapest = float(np.sort(sal[free])[:open_slots].sum()) if open_slots else 0.0
        if lock_cost > cap + _EPS:
            who = ", ".join(a.who(d) for d in lk)
            out.append(f"locked drivers {who} cost {_fmt_money(lock_cost)} > cap {_fmt_money(cap)}")
        elif lock_cost + cheapest > cap + _EPS:
            who = ", ".join(a.who(d) for d in lk)
            out.append(
                f"locked drivers {who} cost {_fmt_money(lock_cost)}: with the {open_slots} "
                f"cheapest others {_fmt_money(lock_cost + cheapest)} > cap {_fmt_money(cap)}"
            )
    if a.salary_floor > cap + _EPS:
        out.append(f"salary floor {_fmt_money(a.salary_floor)} > cap {_fmt_money(cap)}")
    elif len(locks) <= R and len(free) >= open_slots:
        dearest = float(np.sort(sal[free])[::-1][:open_slots].sum()) if open_slots else 0.0
        if lock_cost + dearest < a.salary_floor - _EPS:
            out.append(
                f"salary floor {_fmt_money(a.salary_floor)}: no lineup reaches it with these "
                f"locks (at most {_fmt_money(lock_cost + dearest)})"
            )
    # exposures
    per_max = {e.driver: e.max for e in s.exposures if e.max is not None}
    for i in range(a.n_drivers):
        did = int(a.driver_ids[i])
        if i in locks and did in per_max and per_max[did] < 1.0 - _EPS:
            out.append(f"driver {a.who(i)} is locked but max_exposure is {per_max[did]:g}")
        if i in excluded and a.min_exposure[i] > 0 and i not in locks:
            out.append(f"driver {a.who(i)} is excluded but min_exposure is {a.min_exposure[i]:g}")
        elif i not in locks and a.min_exposure[i] > a.max_exposure[i] + _EPS:
            src = "max_exposure" if did in per_max else "global_max_exposure"
            out.append(
                f"min_exposure {a.min_exposure[i]:g} > {src} {a.max_exposure[i]:g} for {a.who(i)}"
            )
        elif i not in locks and a.min_count()[i] > a.max_count()[i]:
            out.append(
                f"driver {a.who(i)}: min_exposure {a.min_exposure[i]:g} of {N} lineups is "
                f"{a.min_count()[i]}, max_exposure {a.max_exposure[i]:g} allows "
                f"{a.max_count()[i]}"
            )
    min_sum = float(a.min_exposure.sum())
    if min_sum > R + _EPS:
        out.append(f"min exposures sum to {min_sum:g} lineup-slots per lineup > {R}")
    slots = int(a.max_count().sum())
    if slots < R * N:
        out.append(
            f"exposure caps allow {slots} driver-slots over {N} lineups, {R * N} are needed "
            f"(global_max_exposure {s.global_max_exposure:g} x {N} lineups = "
            f"{int(np.floor(s.global_max_exposure * N + _EPS))} per driver)"
        )
    # groups
    for g in a.groups:
        members = set(g.members.tolist())
        left = members - excluded
        if g.at_least > len(left):
            out.append(
                f"group '{g.name}' at least {g.at_least} but only {len(left)} drivers "
                "left after excludes"
            )
        n_locked = len(members & locks)
        if n_locked > g.at_most:
            out.append(f"group '{g.name}' at most {g.at_most} but {n_locked} of it are locked")
        if g.at_least > R:
            out.append(f"group '{g.name}' at least {g.at_least} > roster size {R}")
        room = int(a.max_count()[g.members].sum())
        if g.at_least and room < g.at_least * N and g.at_least <= len(left):
            out.append(
                f"group '{g.name}' needs {g.at_least} x {N} = {g.at_least * N} lineup-slots, "
                f"its drivers' exposure caps allow {room}"
            )
    if N > 1 and len(locks) > a.max_shared:
        out.append(
            f"max_shared {a.max_shared} < {len(locks)} locked drivers (every two lineups share "
            "the locks)"
        )
    return out


def _exact_conflicts(a: SteeringArrays) -> list[str]:
    """One exact solve: the dearest lineup under every per-lineup rule but the salary floor."""
    from nascar_pipeline.core.optimize import InfeasibleError, optimize_lineups

    def best(groups):
        try:
            r = optimize_lineups(
                a.salaries,
                a.salaries,
                a.roster_size,
                a.salary_cap,
                k=1,
                locks=a.locks,
                excludes=a.banned,
                groups=groups,
                method="milp",
            )
            return float(r.salaries[0])
        except InfeasibleError:
            return None

    top = best(a.groups)
    if top is None:
        culprits = [g.name for g in a.groups if best((g,)) is None]
        if culprits:
            return [
                f"group '{n}' cannot be met with these locks, excludes and the cap"
                for n in culprits
            ]
        if a.groups:
            return [
                "groups " + ", ".join(f"'{g.name}'" for g in a.groups) + " cannot all be met "
                "in one lineup with these locks, excludes and the cap"
            ]
        return ["no lineup meets the locks, excludes and the cap"]
    if top < a.salary_floor - _EPS:
        return [
            f"salary floor {_fmt_money(a.salary_floor)}: no lineup reaches it with these locks, "
            f"excludes and groups (at most {_fmt_money(top)})"
        ]
    return []


# ----------------------------------------------------------------------------- after the build


def steering_violations(
    lineups,
    steering: Steering,
    salaries,
    *,
    roster_size: int = rules.DRAFTKINGS.roster_size,
    salary_cap: float = rules.DRAFTKINGS.salary_cap,
    names: Mapping[int, str] | None = None,
) -> list[str]:
    """Every violation of the steering by a set of lineups (empty when they obey it).

    lineups: (K, R) NASCAR driver ids. salaries: {driver_id: salary}, or (K, R) slot salaries.
    Exposures are shares of the K lineups returned."""
    L = np.asarray(lineups, dtype=np.int64).reshape(-1, roster_size)
    K = L.shape[0]
    if isinstance(salaries, Mapping):
        S = np.vectorize(lambda d: float(salaries[int(d)]), otypes=[float])(L) if K else L * 0.0
    else:
        S = np.asarray(salaries, dtype=float).reshape(K, roster_size)

    def who(d: int) -> str:
        return f"{names[d]} ({d})" if names and d in names else str(d)

    out: list[str] = []
    sets = [set(r.tolist()) for r in L]
    lock, excl = set(steering.lock), set(steering.exclude)
    for i, st in enumerate(sets):
        if len(st) != roster_size:
            out.append(f"lineup {i}: repeated driver")
        tot = float(S[i].sum())
        if tot > salary_cap + _EPS:
            out.append(
                f"lineup {i}: salary {_fmt_money(tot)} over the cap {_fmt_money(salary_cap)}"
            )
        if tot < steering.salary_floor - _EPS:
            out.append(
                f"lineup {i}: salary {_fmt_money(tot)} under the floor "
                f"{_fmt_money(steering.salary_floor)}"
            )
        for d in sorted(lock - st):
            out.append(f"lineup {i}: locked driver {who(d)} missing")
        for d in sorted(excl & st):
            out.append(f"lineup {i}: excluded driver {who(d)} present")
        for g in steering.groups:
            c = len(st & set(g.drivers))
            if g.at_least is not None and c < g.at_least:
                out.append(f"lineup {i}: group '{g.name}' has {c} < at least {g.at_least}")
            if g.at_most is not None and c > g.at_most:
                out.append(f"lineup {i}: group '{g.name}' has {c} > at most {g.at_most}")
    if K == 0:
        return out
    ids, counts = np.unique(L, return_counts=True)
    count = dict(zip(ids.tolist(), counts.tolist()))
    per = {e.driver: e for e in steering.exposures}
    for d in sorted(set(count) | set(per)):
        c = count.get(d, 0)
        e = per.get(d)
        hi = e.max if e is not None and e.max is not None else steering.global_max_exposure
        if d in lock:
            hi = 1.0 if e is None or e.max is None else e.max
        lo = e.min if e is not None else 0.0
        if c > np.floor(hi * K + _EPS):
            out.append(f"driver {who(d)} in {c} of {K} lineups > max_exposure {hi:g}")
        if c < np.ceil(lo * K - _EPS):
            out.append(f"driver {who(d)} in {c} of {K} lineups < min_exposure {lo:g}")
    ms = roster_size - 1 if steering.max_shared is None else steering.max_shared
    for i in range(K):
        for j in range(i):
            n = len(sets[i] & sets[j])
            if n > ms:
                out.append(f"lineups {j} and {i} share {n} drivers > max_shared {ms}")
    return out


def frame_violations(
    df: pd.DataFrame, steering: Steering, site: rules.Site = rules.DRAFTKINGS
) -> list[str]:
    """steering_violations of a lineup frame (core/lineups.py: d{j}_driver_id, d{j}_salary,
    d{j}_name): what the blocking asset check runs."""
    from nascar_pipeline.core.lineups import driver_id_columns

    cols = driver_id_columns(df)
    if len(cols) != site.roster_size:
        return [f"{len(cols)} driver columns, {site.name} needs {site.roster_size}"]
    ids = df[cols].to_numpy(np.int64)
    sal = df[[c.replace("_driver_id", "_salary") for c in cols]].to_numpy(float)
    names: dict[int, str] = {}
    name_cols = [c.replace("_driver_id", "_name") for c in cols]
    if all(c in df for c in name_cols):
        for c_id, c_nm in zip(cols, name_cols):
            names.update(zip(df[c_id].astype("int64"), df[c_nm].astype(str)))
    return steering_violations(
        ids, steering, sal, roster_size=site.roster_size, salary_cap=site.salary_cap, names=names
    )


def linear_taste_objective(projection, ownership_pct, taste: float) -> np.ndarray:
    """Per-driver objective for the exact optimizer: projection * (1 - taste * ownership), with
    ownership as a fraction of the field (ownership_pct / 100, clipped to [0, 1])."""
    p = np.asarray(projection, dtype=float)
    own = np.clip(np.asarray(ownership_pct, dtype=float) / 100.0, 0.0, 1.0)
    return p * (1.0 - float(taste) * own)
