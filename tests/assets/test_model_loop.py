"""race_model_fit with loop data (RaceModelConfig.loop_data): the race's loop rows come from
the race source (RaceInputs.loop_history; the snapshot has none), their digest is part of the
fit-cache key, and a world without loop data (the demo world) still fits, all masked."""

import dataclasses

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


def _fit(resource, root, race_key, loop_data: bool) -> dict:
    result = materialize_race(
        [race_snapshot, *model_assets],
        race_key,
        {"race_source": resource, **storage_resources(str(root))},
        selection=["race_snapshot", "race_model_fit"],
        run_config={
            "ops": {
                "race_model_fit": {
                    "config": {**TINY, "loop_data": loop_data, "stale_fallback": False}
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
