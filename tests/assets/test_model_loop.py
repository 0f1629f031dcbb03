"""race_model_fit with loop data (RaceModelConfig.loop_data): the race's loop rows come from
the race source (RaceInputs.loop_history; the snapshot has none), their digest is part of the
fit-cache key, and a world without loop data (the demo world) still fits, all masked."""

import dataclasses

import pandas as pd
import pytest

from nascar_pipeline.assets.model import model_assets
from nascar_pipeline.assets.snapshot import race_snapshot
from nascar_pipeline.core.tables import conform
from nascar_pipeline.resources.race_source import EmbeddedWorldResource
from nascar_pipeline.resources.storage import storage_resources
from tests.support.races import materialize_race

pytestmark = pytest.mark.slow

TINY = {"draws": 5, "warmup": 5, "chains": 2, "svi_steps": 20, "max_refits": 0}


class _WithLoop:
    """A RaceSource whose races carry loop rows: each history start's finish as its average
    running position."""

    def __init__(self, source):
        self._source = source

    def __getattr__(self, name):
        return getattr(self._source, name)

    def race_inputs(self, race_key):
        inputs = self._source.race_inputs(race_key)
        h = inputs.history
        loop = h.assign(series="cup", start_of_day=1, avg_running_position=h["finish_position"])
        return dataclasses.replace(inputs, loop_history=conform("loop_stats", loop))


class LoopWorldResource(EmbeddedWorldResource):
    def source(self):
        return _WithLoop(super().source())


def _fit(resource, root, race_key, loop_data: bool | None, form: bool = True) -> dict:
    result = materialize_race(
        [race_snapshot, *model_assets],
        race_key,
        {"race_source": resource, **storage_resources(str(root))},
        selection=["race_snapshot", "race_model_fit"],
        run_config={
            "ops": {
                "race_model_fit": {
                    "config": {
                        **TINY,
                        "loop_data": loop_data,
                        "form": form,
                        "stale_fallback": False,
                    }
                }
            }
        },
    )
    assert result.success
    (m,) = result.asset_materializations_for_node("race_model_fit")
    return {k: v.value for k, v in m.metadata.items()}


def test_loop_rows_reach_the_fit_and_its_cache_key(world, tmp_path):
    folder, _, race_key = world
    plain = EmbeddedWorldResource(world_dir=str(folder))
    with_loop = LoopWorldResource(world_dir=str(folder))
    # (Loop data off vs on differ in the key through ModelConfig.as_dict: tests/core.)
    masked = _fit(plain, tmp_path / "s", race_key, loop_data=True)  # no loop rows: all masked
    on = _fit(with_loop, tmp_path / "s", race_key, loop_data=True)
    assert masked["fit_key"] != on["fit_key"] and not on["reused_cached_fit"]
    again = _fit(with_loop, tmp_path / "s", race_key, loop_data=True)
    assert again["fit_key"] == on["fit_key"] and again["reused_cached_fit"]


def test_unset_loop_data_follows_the_race_sources_loop_rows(world, tmp_path):
    """loop_data unset (the default): the same fit as loop_data on where the race source has
    Cup loop rows of the history's races (the cached fit is re-used), as off where it has
    none."""
    from nascar_pipeline.assets.model import loop_data_on

    cup = pd.DataFrame({"race_key": ["r1", None], "avg_running_position": [5.0, 7.0]})
    lower_only = cup.assign(race_key=[None, None])
    assert loop_data_on(None, None, ["r1"]) is False
    assert loop_data_on(None, cup.head(0), ["r1"]) is False
    assert loop_data_on(None, cup, ["r1"]) is True
    assert loop_data_on(None, cup, ["r2"]) is False  # Cup rows of races outside the history
    assert loop_data_on(None, lower_only, ["r1"]) is False  # lower series alone: off
    assert loop_data_on(None, cup.assign(avg_running_position=None), ["r1"]) is False
    assert loop_data_on(False, cup, ["r1"]) is False and loop_data_on(True, None, []) is True
    folder, _, race_key = world
    with_loop = LoopWorldResource(world_dir=str(folder))
    on = _fit(with_loop, tmp_path / "s", race_key, loop_data=True)
    auto = _fit(with_loop, tmp_path / "s", race_key, loop_data=None)
    assert auto["fit_key"] == on["fit_key"] and auto["reused_cached_fit"]
    plain = EmbeddedWorldResource(world_dir=str(folder))
    off = _fit(plain, tmp_path / "p", race_key, loop_data=False)
    auto_plain = _fit(plain, tmp_path / "p", race_key, loop_data=None)
    assert auto_plain["fit_key"] == off["fit_key"] and auto_plain["reused_cached_fit"]
    # Without form, unset loop data that resolves to off keeps the key of an explicit off
    # (the loop rows' digest enters the key only when the fit uses them).
    off_no_form = _fit(with_loop, tmp_path / "q", race_key, loop_data=False, form=False)
    auto_no_form = _fit(plain, tmp_path / "q", race_key, loop_data=None, form=False)
    assert auto_no_form["fit_key"] == off_no_form["fit_key"]
