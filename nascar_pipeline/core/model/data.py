"""History rows -> padded, masked arrays for the race model, plus index maps and empirical stats.

Input: a history frame shaped like `race_snapshot`'s role=="history" rows (columns used:
race_key, race_date, track_type, track_name, laps, driver_id, car_number, start_position,
finish_position, laps_completed, laps_led, fastest_laps, status).

Layout of the arrays. Shapes are bucketed so that the compiled NUTS and simulation programs are
reused across races and from the persistent cache: consecutive races of a season differ by a few
history races, drivers, cars and lap-count entries, which must not change a shape
(`shape_bucket`). Races R and the sparse lap counts K are padded to the next 2^k or 1.5 * 2^k (at
most 50 % padding; above 64 races multiples of `RACE_STEP`: 11 % on the production window of
~115 races, 13 % on four seasons); drivers and cars to the next
power of two (a padded driver or car is one more N(0, 1) coordinate, cheap: the likelihood's cost
is in R x field, not in D); each race to `field_size` slots:

- slots of a race are in the race's actual finishing order (slot 0 = winner), padding last;
- `drv`, `car` (R, N) int32 driver / car index (0 in padding), `mask` (R, N) 1.0 for real starts;
- `start` (R, N) scaled start position (see `scale_start`), `dnf` (R, N) 1.0 if not running at end;
- `frac` (R, N) laps completed / laps (1.0 for running cars);
- `led`, `fast` (R, N) laps led / fastest laps; `fast_ok` (R,) 1.0 where loop data is present;
- `tt` (R,) track-type index into TRACK_TYPES; `w` (R,) likelihood weight (time decay; 0 = padding);
- `finish_pos` (R, N) the slot's finish position (1 = winner, 0 in padding), only with
  ModelConfig.lap_position (the lap shares then condition on the realised order);
- `drv_real` (D,) 1.0 for the real drivers (0.0 for padding);
- `led_idx`, `led_cnt`, `led_on` (K,) and `fast_*` (K',): the non-zero counts of `led` / `fast`
  as flat indices into (R, N), their counts and a 1.0/0.0 mask, K bucketed (at least
  `COUNT_BUCKET`). Most cars lead no lap, and a Dirichlet-multinomial slot with count 0 adds
  lgamma(0 + a) - lgamma(a) = 0, so the model evaluates lgamma (its costliest op) only there.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from nascar_pipeline.core.tables import DEFAULT_TRACK_TYPE, TRACK_TYPES, track_type_index

FIELD_SIZE = 44
# Fastest laps per lap run, as measured on 2022-2025 Cup races (loop data): about 0.77.
DEFAULT_FAST_FRAC = (0.77, 0.15)
COUNT_BUCKET = 256
# Above 64 races, windows are padded to a multiple of 32: the production window (~115 races)
# -> 128, four seasons (141-144) -> 160 (2^k / 1.5 * 2^k would pad those to 192).
RACE_STEP = 32


# Names the finish feature of the lap-position terms in the fit-cache key: a fit made with
# another feature (-log finish before afaf334) is not read back with this one.
LAP_POSITION_FEATURE = "1/finish-0.1"


@dataclass(frozen=True)
class ModelConfig:
    """What defines the data a fit sees (part of the fit-cache key)."""

    half_life_days: float = 365.0  # time decay of the likelihood: a race a year old counts half
    history_days: int = 1155  # window of history used (about three seasons and a bit)
    field_size: int = FIELD_SIZE
    race_bucket: int = 16  # the smallest race bucket (see shape_bucket)
    driver_bucket: int = 16  # the smallest driver / car bucket
    model_version: str = "2"  # 2: bucketed shapes (a cached fit's padded shapes changed)
    # Loop data as evidence of pace (core/model/loop_data.py). Off here; race_model_fit turns
    # it on where the race source has loop rows (the 2025 season backtest: +0.17 nats/race).
    loop_data: bool = False
    # Trailing form as covariates of ability (core/model/form.py): each start's exponentially
    # weighted trailing finish and running position (loop data), overall and at the track
    # type, and a rookie flag, from the starts before it. Off here (the model as before);
    # race_model_fit, the backtest and bench_model turn it on.
    form: bool = False
    # Laps led and fastest laps conditioned on the race's realised finish and start
    # (race_story.lap_position_term; the sites led_finish, led_start, fast_finish, fast_start).
    # Off (the model as before): on the first 12 races of 2025 at production settings it left
    # the backtest's marginal figures where they were (order log-likelihood -0.15 +- 0.13
    # nats/race, CRPS +0.02 +- 0.06, coverage 52.1 / 92.8 vs 50.8 / 91.3; -log finish then);
    # what it changes is the joint story (the winner of a scenario leads its laps).
    lap_position: bool = False
    # Car effects as contrasts within each group of drivers and cars linked by their starts
    # (car_groups; model._within_group): the sum skill + car effect is all a driver who kept
    # one car shows, so the split between them was left to the priors, a ridge that slowed
    # the skills' mixing (the one-season embedded world at production settings: R-hat 1.015,
    # bulk ESS 349 on skills, sigma_car R-hat 1.05). Off here (the model as before).
    car_contrasts: bool = False
    # Organisation (team) effects under the car (team_arrays; the model's org_effect): an
    # organisation persists across seasons where a car (season, number) lives one, so a driver
    # joining it, its new car of a new season and a rookie in it start from its level. Off
    # (the model as before) here and everywhere: on the first 8 races of 2025 at production
    # settings it gained +0.03 +- 0.04 nats/race (CRPS 12.95 vs 12.94) while the skills mixed
    # worse (lowest bulk ESS 444 vs 1,032; R-hat max 1.012 vs 1.009).
    team_effect: bool = False

    def as_dict(self) -> dict:
        d = asdict(self)
        for flag in ("loop_data", "form", "lap_position", "car_contrasts", "team_effect"):
            if not d[flag]:
                d.pop(flag)  # off: the fit-cache key of every earlier fit stays valid
        if self.lap_position:  # the finish's feature (race_story.finish_feature) in the key
            d["lap_position"] = LAP_POSITION_FEATURE
        return d


def scale_start(start) -> np.ndarray:
    """Start position (1-based) -> model covariate log(start) / log(40) - 0.5: -0.5 at pole, 0.5
    at 40th. Logarithmic: pole vs 5th matters far more than 30th vs 35th."""
    s = np.maximum(np.asarray(start, dtype=np.float64), 1.0)
    return (np.log(s) / np.log(40.0) - 0.5).astype(np.float32)


def shape_bucket(n: int, minimum: int, fine: bool = True, step: int | None = None) -> int:
    """The padded size for `n`: the smallest 2^k, or 1.5 * 2^k when `fine`, that is at least
    `n` and `minimum`; with `step`, sizes above 2 * step are multiples of `step` instead.
    Buckets this coarse keep a season's consecutive windows in one shape (measured on 2023-25
    Cup windows: 110-116 races -> 128, 91-96 drivers + 1 -> 128, 176-182 cars + 1 -> 256,
    1150-1200 laps-led and 2700-2860 fastest-lap entries -> 1536 and 3072), where multiples
    of 16 / 256 changed a shape every few races."""
    n = max(int(n), int(minimum), 1)
    if step is not None and n > 2 * step:
        return -(-n // step) * step
    size = 1 << (n - 1).bit_length()  # the next power of two
    if fine and size >= 4 and size * 3 // 4 >= n:
        return size * 3 // 4
    return size


def sparse_counts(counts: np.ndarray, bucket: int = COUNT_BUCKET) -> dict:
    """The non-zero entries of an (R, N) count array: flat index, count and a validity mask,
    padded to `shape_bucket` (at least `bucket`; padding points at slot 0 with mask 0)."""
    flat = np.flatnonzero(counts.reshape(-1) > 0)
    k = shape_bucket(len(flat), bucket)
    idx = np.zeros(k, np.int32)
    cnt = np.zeros(k, np.float32)
    on = np.zeros(k, np.float32)
    idx[: len(flat)] = flat
    cnt[: len(flat)] = counts.reshape(-1)[flat]
    on[: len(flat)] = 1.0
    return {"idx": idx, "cnt": cnt, "on": on}


@dataclass
class HistoryData:
    arrays: dict
    driver_ids: np.ndarray  # index -> driver_id, length n_drivers (real ones)
    car_numbers: list  # index -> car key "<season>-<car number>", length n_cars
    race_keys: list
    n_drivers_padded: int
    n_cars_padded: int
    starts: np.ndarray  # starts per driver index in the window
    weighted_starts: np.ndarray  # sum of race weights per driver index
    stats: dict = field(default_factory=dict)
    reference_date: str = ""
    # ModelConfig.team_effect: index -> organisation (org_name), its padded size
    org_names: list = field(default_factory=list)
    n_orgs_padded: int = 0

    @property
    def n_drivers(self) -> int:
        return len(self.driver_ids)

    @property
    def n_races(self) -> int:
        return len(self.race_keys)

    def driver_index(self) -> dict:
        return {int(d): i for i, d in enumerate(self.driver_ids)}

    def car_index(self) -> dict:
        return {str(c): i for i, c in enumerate(self.car_numbers)}

    def org_index(self) -> dict:
        return {str(o): i for i, o in enumerate(self.org_names)}

    def model_kwargs(self) -> dict:
        return dict(
            self.arrays,
            n_drivers=self.n_drivers_padded,
            n_cars=self.n_cars_padded,
            n_orgs=self.n_orgs_padded,
        )


def clean_history(history: pd.DataFrame) -> pd.DataFrame:
    """Normalize a history frame: finished rows only, lower-case status, track types filled
    from the same track elsewhere (else 'intermediate'), laps from laps completed when missing."""
    h = history.copy()
    h = h[h["finish_position"].notna() & h["driver_id"].notna()]
    h["race_key"] = h["race_key"].astype(str)
    h["race_date"] = h["race_date"].astype(str)
    tt = h["track_type"].astype("string").str.lower()
    if "track_name" in h.columns:
        known = (
            pd.DataFrame({"t": h["track_name"], "tt": tt})
            .dropna()
            .groupby("t")["tt"]
            .agg(lambda s: s.mode().iloc[0])
        )
        tt = tt.fillna(h["track_name"].map(known))
    h["track_type"] = tt.fillna(DEFAULT_TRACK_TYPE)
    h["status"] = h["status"].astype("string").str.lower().fillna("running")
    lc = pd.to_numeric(h["laps_completed"], errors="coerce")
    race_max = lc.groupby(h["race_key"]).transform("max")
    laps = pd.to_numeric(h["laps"], errors="coerce")
    h["laps"] = laps.fillna(race_max).fillna(1).clip(lower=1)
    h["laps_completed"] = lc.fillna(h["laps"])
    h["laps_led"] = pd.to_numeric(h["laps_led"], errors="coerce").fillna(0)
    h["fastest_laps"] = pd.to_numeric(h["fastest_laps"], errors="coerce")
    h["finish_position"] = pd.to_numeric(h["finish_position"]).astype(int)
    h["driver_id"] = pd.to_numeric(h["driver_id"]).astype(np.int64)
    h["car_number"] = h["car_number"].astype("string").fillna("?").astype(str)
    h["car_key"] = car_key(
        h["season"] if "season" in h.columns else h["race_date"].str[:4], h["car_number"]
    )
    return h


def car_key(season, car_number) -> pd.Series:
    """The car (team) effect's key: season and car number. Car numbers change hands between
    seasons (a number's history can belong to another team), so a car effect lives one season."""
    season = pd.Series(season).astype("string").str.extract(r"(\d{4})")[0].fillna("?")
    return (season + "-" + pd.Series(car_number).astype("string").fillna("?")).astype(str)


def history_hash(history: pd.DataFrame, config: ModelConfig, extra: dict | None = None) -> str:
    """A stable hash of the history rows the model uses plus the config: the fit-cache key."""
    cols = [
        "race_key",
        "race_date",
        "track_type",
        "track_name",
        "laps",
        "driver_id",
        "car_number",
        "start_position",
        "finish_position",
        "laps_completed",
        "laps_led",
        "fastest_laps",
        "status",
    ] + (["team", "season"] if config.team_effect else [])  # the organisations' keys
    h = history[[c for c in cols if c in history.columns]].astype("string").fillna("")
    h = h.sort_values(list(h.columns)).reset_index(drop=True)
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(h, index=False).values.tobytes())
    digest.update(
        json.dumps(
            {"config": config.as_dict(), "extra": extra or {}}, sort_keys=True, default=str
        ).encode()
    )
    return digest.hexdigest()[:20]


def prepare_history(
    history: pd.DataFrame,
    config: ModelConfig = ModelConfig(),
    target_date: str | None = None,
    loop: pd.DataFrame | None = None,
) -> HistoryData:
    """Build model arrays from history rows strictly before `target_date` (default: all rows),
    within `config.history_days` of the last race; weights relative to the day after it.
    `loop`: loop data (LOOP_STATS_COLUMNS, RaceInputs.loop_history), used only with
    `config.loop_data` (then the arrays of core/model/loop_data.py are added; none given: all
    masked)."""
    h = clean_history(history)
    if target_date is not None:
        h = h[pd.to_datetime(h["race_date"]) < pd.Timestamp(target_date)]
    if config.team_effect:  # before the window: a team is inferred from earlier seasons
        h = h.assign(org=start_orgs(h))
    h_all = h  # the trailing form reaches back before the window
    # Weights and the window are relative to the day after the last history race, so a fit
    # depends on the history rows alone (races with identical history share one fit).
    ref = (
        pd.Timestamp(h["race_date"].max()) + pd.Timedelta(days=1)
        if len(h)
        else pd.Timestamp("2000-01-01")
    )
    h = h[pd.to_datetime(h["race_date"]) >= ref - pd.Timedelta(days=config.history_days)]
    h = h.sort_values(["race_date", "race_key", "finish_position"]).reset_index(drop=True)

    N = config.field_size
    race_keys = list(dict.fromkeys(h["race_key"]))
    driver_ids = np.array(sorted(h["driver_id"].unique()), dtype=np.int64)
    car_numbers = sorted(h["car_key"].unique())
    R = shape_bucket(len(race_keys), config.race_bucket, step=RACE_STEP)
    # +1: at least one spare slot; powers of two (see the module docstring).
    Dp = shape_bucket(len(driver_ids) + 1, config.driver_bucket, fine=False)
    Cp = shape_bucket(len(car_numbers) + 1, config.driver_bucket, fine=False)
    d_idx = {int(d): i for i, d in enumerate(driver_ids)}
    c_idx = {c: i for i, c in enumerate(car_numbers)}

    a = {
        "drv": np.zeros((R, N), np.int32),
        "car": np.zeros((R, N), np.int32),
        "mask": np.zeros((R, N), np.float32),
        "start": np.zeros((R, N), np.float32),
        "dnf": np.zeros((R, N), np.float32),
        "frac": np.ones((R, N), np.float32),
        "led": np.zeros((R, N), np.float32),
        "fast": np.zeros((R, N), np.float32),
        "fast_ok": np.zeros((R,), np.float32),
        "tt": np.ones((R,), np.int32),
        "w": np.zeros((R,), np.float32),
    }
    starts = np.zeros(len(driver_ids))
    wstarts = np.zeros(len(driver_ids))
    for r, (_key, g) in enumerate(h.groupby("race_key", sort=False)):
        g = g.drop_duplicates("driver_id").sort_values("finish_position").head(N)
        n = len(g)
        laps = float(g["laps"].iloc[0])
        age = (ref - pd.Timestamp(g["race_date"].iloc[0])).days
        w = 0.5 ** (max(age, 0) / config.half_life_days)
        di = g["driver_id"].map(d_idx).to_numpy()
        a["drv"][r, :n] = di
        a["car"][r, :n] = g["car_key"].map(c_idx).to_numpy()
        a["mask"][r, :n] = 1.0
        sp = pd.to_numeric(g["start_position"], errors="coerce").fillna((n + 1) / 2).to_numpy()
        a["start"][r, :n] = scale_start(sp)
        dnf = (g["status"] != "running").to_numpy()
        a["dnf"][r, :n] = dnf
        frac = np.clip(g["laps_completed"].to_numpy() / laps, 0.0, 1.0)
        a["frac"][r, :n] = np.where(dnf, frac, 1.0)
        a["led"][r, :n] = np.minimum(g["laps_led"].to_numpy(), g["laps_completed"].to_numpy())
        fl = g["fastest_laps"]
        if fl.notna().all() and fl.sum() > 0:
            a["fast"][r, :n] = fl.to_numpy()
            a["fast_ok"][r] = 1.0
        a["tt"][r] = track_type_index(g["track_type"].iloc[0])
        a["w"][r] = w
        starts[di] += 1
        wstarts[di] += w
    a["drv_real"] = (np.arange(Dp) < len(driver_ids)).astype(np.float32)
    stats = empirical_stats(h)
    if config.lap_position:
        # Slots are in finishing order: the finish position is the slot's rank (0 = padding).
        a["finish_pos"] = (np.arange(1, N + 1, dtype=np.float32)[None] * a["mask"]).astype(
            np.float32
        )
    if config.car_contrasts:
        a["car_group"], a["car_weight"] = car_groups(
            a["drv"], a["car"], a["mask"], a["w"], len(driver_ids), len(car_numbers), Cp
        )
    org_names, Op = [], 0
    if config.team_effect:
        org_names, Op, org_arrays = team_arrays(h_all, h, a, len(driver_ids), config, stats)
        a.update(org_arrays)
    for name in ("led", "fast"):
        a.update({f"{name}_{k}": v for k, v in sparse_counts(a[name]).items()})
    if config.loop_data:
        from nascar_pipeline.core.model.loop_data import loop_arrays

        a.update(loop_arrays(loop, h, race_keys, a, d_idx, ref, config, target_date))
    if config.form:
        from nascar_pipeline.core.model.form import form_arrays

        a["form"], stats["form_now"] = form_arrays(
            h_all, loop, race_keys, a["drv"], a["mask"], driver_ids
        )

    return HistoryData(
        arrays=a,
        driver_ids=driver_ids,
        car_numbers=car_numbers,
        race_keys=race_keys,
        n_drivers_padded=Dp,
        n_cars_padded=Cp,
        starts=starts,
        weighted_starts=wstarts,
        stats=stats,
        reference_date=str(ref.date()),
        org_names=org_names,
        n_orgs_padded=Op,
    )


def recent_starts(h: pd.DataFrame) -> dict:
    """{driver_id: mean start position over his last 10 starts of `h`} (drivers with one)."""
    recent = (
        h.sort_values("race_date")
        .groupby("driver_id")
        .tail(10)
        .groupby("driver_id")["start_position"]
        .apply(lambda s: pd.to_numeric(s, errors="coerce").mean())
    )
    return {int(k): float(v) for k, v in recent.dropna().items()}


def team_arrays(h_all, h, a: dict, n_drivers: int, config: ModelConfig, stats: dict):
    """The organisation of every start of the window (`h`, sorted as the arrays' races):
    (org names, padded size, {"org": (R, N) int32, "org_group", "org_weight": (Op,)}).
    Sets stats["car_org"] (car number -> the organisation its latest start naming a team in
    `h_all` named: the simulator's fallback for an entry without a team) and
    stats["car_org_season"] (that start's season). Organisation effects are contrasts
    within each group of drivers and organisations linked by starts (car_groups on the
    driver-organisation graph): the level of a group trades with its drivers' skills."""
    org = h["org"]
    names = sorted(org.unique())
    o_idx = {o: i for i, o in enumerate(names)}
    Op = shape_bucket(len(names) + 1, config.driver_bucket, fine=False)
    R, N = a["drv"].shape
    arr = np.zeros((R, N), np.int32)
    # The same race / finishing-order walk as prepare_history's (one driver a race, N slots).
    frame = pd.DataFrame({"race_key": h["race_key"], "org": org, "fp": h["finish_position"]})
    frame["driver_id"] = h["driver_id"]
    race_pos = {k: i for i, k in enumerate(dict.fromkeys(h["race_key"]))}
    for key, g in frame.groupby("race_key", sort=False):
        g = g.drop_duplicates("driver_id").sort_values("fp").head(N)
        arr[race_pos[key], : len(g)] = g["org"].map(o_idx).to_numpy()
    group, weight = car_groups(a["drv"], arr, a["mask"], a["w"], n_drivers, len(names), Op)
    # From the starts that name their team (not the ones start_orgs inferred): an inferred
    # organisation carried on season after season would reach further back than the fit's rule.
    named = org_name(h_all["team"] if "team" in h_all.columns else pd.Series(pd.NA, h_all.index))
    latest = (
        pd.DataFrame(
            {"car": h_all["car_number"], "season": _season(h_all), "org": named.to_numpy()}
        )
        .loc[lambda d: d["org"] != UNKNOWN_ORG]
        .sort_values("season", kind="stable")
        .drop_duplicates("car", keep="last")
    )
    stats["car_org"] = dict(zip(latest["car"].astype(str), latest["org"].astype(str)))
    # ... and that season: the simulator looks no further back than start_orgs does
    stats["car_org_season"] = {
        str(c): int(s) for c, s in zip(latest["car"], latest["season"]) if pd.notna(s)
    }
    return names, Op, {"org": arr, "org_group": group, "org_weight": weight}


UNKNOWN_ORG = "?"  # a start whose organisation is neither given nor inferable
_ORG_SUFFIXES = {"inc", "llc", "ltd", "co", "corp", "incorporated"}


def org_name(team) -> pd.Series:
    """A team name -> its organisation's key: lower case, punctuation dropped, whitespace
    collapsed, a trailing company suffix (Inc, LLC, ...) dropped ("Joe Gibbs Racing, Inc." ->
    "joe gibbs racing"); missing or empty -> UNKNOWN_ORG. Nothing cleverer: two names of one
    organisation that differ otherwise stay two organisations."""
    s = pd.Series(team, dtype="string").str.lower()
    s = s.str.replace(r"[.,'\u2019]", "", regex=True).str.replace(r"[^0-9a-z]+", " ", regex=True)
    s = s.str.strip()
    words = s.str.split(" ")
    s = words.map(
        lambda w: (
            " ".join(w[:-1] if len(w) > 1 and w[-1] in _ORG_SUFFIXES else w)
            if isinstance(w, list)
            else pd.NA
        )
    ).astype("string")
    return s.mask(s.isna() | (s == ""), UNKNOWN_ORG).astype(str)


def _season(h: pd.DataFrame) -> pd.Series:
    src = h["season"] if "season" in h.columns else h["race_date"].astype(str).str[:4]
    return pd.to_numeric(pd.Series(src, index=h.index).astype("string").str[:4], errors="coerce")


def start_orgs(h: pd.DataFrame) -> pd.Series:
    """Each start's organisation (org_name of its team). A start without a team takes its car
    number's organisation in the same season, else in the season before (a season without
    team names, such as the history's 2025, keeps its charters' owners of the year before; a
    number that changed hands over the winter is then wrong for that season; older seasons are
    not looked at: a number unused for a while has often changed hands), else UNKNOWN_ORG."""
    org = org_name(h["team"] if "team" in h.columns else pd.Series(pd.NA, index=h.index))
    org.index = h.index
    missing = org == UNKNOWN_ORG
    if not missing.any() or not (~missing).any():
        return org
    season = _season(h)
    car = h["car_number"].astype(str)
    known = (
        pd.DataFrame({"car": car, "season": season, "org": org})[~missing]
        .groupby(["car", "season"])["org"]
        .agg(lambda s: s.mode().iloc[0])
    )
    by_car: dict = {}
    for (c, s_), o in known.items():
        by_car.setdefault(c, []).append((s_, o))
    filled = {}
    for c, s_ in set(zip(car[missing], season[missing])):
        cands = [(ks, o) for ks, o in by_car.get(c, []) if pd.notna(s_) and s_ - 1 <= ks <= s_]
        filled[(c, s_)] = max(cands)[1] if cands else UNKNOWN_ORG
    org[missing] = [filled[k] for k in zip(car[missing], season[missing])]
    return org


def car_groups(drv, car, mask, w, n_drivers: int, n_cars: int, n_cars_padded: int):
    """The connected groups of the window's driver-car graph (a start links its driver and its
    car): (car_group (Cp,) int32, the group's smallest car index; car_weight (Cp,) float32,
    the car's time-weighted starts). In `skill[d] + car[c]` each group's common level is not
    identified from the results (add k to its skills, take k from its cars); the model keeps
    its car effects as contrasts within the group, so the skills hold the level. Padding cars
    form groups of their own (weight 1)."""
    parent = list(range(n_drivers + n_cars))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    on = mask > 0
    for d, c in set(zip(drv[on].tolist(), car[on].tolist())):
        a, b = root(d), root(n_drivers + c)
        if a != b:
            parent[max(a, b)] = min(a, b)
    group = np.arange(n_cars_padded, dtype=np.int32)
    first: dict[int, int] = {}
    for c in range(n_cars):
        group[c] = first.setdefault(root(n_drivers + c), c)
    weight = np.ones(n_cars_padded, np.float32)
    weight[:n_cars] = 0.0
    np.add.at(weight, car[on], np.broadcast_to(w[:, None], car.shape)[on])
    return group, weight


def empirical_stats(h: pd.DataFrame) -> dict:
    """Race-level facts the simulator draws from (not worth a model parameter):
    fastest laps per lap by track type (mean, sd), the fraction of laps a DNF car completes
    (Beta moments), laps down of running cars by finishing position (mean fraction of laps),
    each driver's recent mean start position, and median laps by track name / type."""
    stats: dict = {}
    if len(h) == 0:
        stats["fast_frac"] = {t: DEFAULT_FAST_FRAC for t in TRACK_TYPES}
        stats["dnf_frac_beta"] = (1.2, 0.8)
        stats["laps_down"] = [0.0] * FIELD_SIZE
        stats["recent_start"] = {}
        stats["laps_by_track"], stats["laps_by_type"] = median_laps(h)
        return stats
    race = h.groupby("race_key").agg(
        tt=("track_type", "first"),
        laps=("laps", "first"),
        fast=("fastest_laps", lambda s: s.sum(min_count=len(s))),
        track=("track_name", "first") if "track_name" in h else ("track_type", "first"),
    )
    race["ff"] = race["fast"] / race["laps"]
    ff = {}
    for t in TRACK_TYPES:
        v = race.loc[(race["tt"] == t) & race["ff"].notna() & (race["ff"] > 0), "ff"]
        ff[t] = (float(v.mean()), float(max(v.std(), 0.03))) if len(v) >= 3 else DEFAULT_FAST_FRAC
    stats["fast_frac"] = ff
    dnf = h[h["status"] != "running"]
    fr = np.clip(dnf["laps_completed"] / dnf["laps"], 0.0, 1.0)
    if len(fr) >= 10:
        m, v = float(fr.mean()), float(max(fr.var(), 1e-3))
        k = max(m * (1 - m) / v - 1, 0.5)
        stats["dnf_frac_beta"] = (m * k, (1 - m) * k)
    else:
        stats["dnf_frac_beta"] = (1.2, 0.8)
    run = h[h["status"] == "running"].copy()
    run["rank"] = run.groupby("race_key")["finish_position"].rank(method="first").astype(int)
    run["down"] = ((run["laps"] - run["laps_completed"]) / run["laps"]).clip(0, 1)
    by_rank = run.groupby("rank")["down"].median()
    stats["laps_down"] = [
        float(by_rank.get(k, by_rank.iloc[-1] if len(by_rank) else 0.0))
        for k in range(1, FIELD_SIZE + 1)
    ]
    stats["recent_start"] = recent_starts(h)
    stats["laps_by_track"], stats["laps_by_type"] = median_laps(h)
    return stats


def median_laps(h: pd.DataFrame) -> tuple[dict, dict]:
    """({track name: median laps run}, {track type: median laps run}) over the races of `h`,
    one value a race: the laps of a race whose schedule is not known (the simulator's
    fallback, the backtest's)."""
    if not len(h):
        return {}, {}
    race = h.drop_duplicates("race_key")
    laps = pd.to_numeric(race["laps"], errors="coerce").astype(float)
    laps = laps.where(laps > 0)
    track = race["track_name"] if "track_name" in race else race["track_type"]

    def by(key: pd.Series) -> dict:
        return {str(k): float(v) for k, v in laps.groupby(key.to_numpy()).median().dropna().items()}

    return by(track), by(race["track_type"])
