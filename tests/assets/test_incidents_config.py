"""The incident layer's run-config values are checked with the run config (core/incidents.py)."""

import pytest
from pydantic import ValidationError

from nascar_pipeline.assets.model import ScenarioConfig
from nascar_pipeline.assets.model_backtest import ModelBacktestConfig


@pytest.mark.parametrize(
    "make", [ScenarioConfig, lambda **kw: ModelBacktestConfig(season=2025, **kw)]
)
def test_incidents_config_refuses_a_bad_value_by_name(make):
    assert make().incidents == "tuned"  # the default since judged on 2025
    assert make(incidents="1.5,0.2,4").incidents == "1.5,0.2,4"
    with pytest.raises(ValidationError, match="rate must be in"):
        make(incidents="1.5,2,4")
    with pytest.raises(ValidationError, match="SHARPEN,RATE,COST"):
        make(incidents="sometimes")
    # a track type's own setting, and a misspelt track type refused by name
    own = "1.5,0.1,4;road=2,0.1,4;superspeedway=off"
    assert make(incidents=own).incidents == own
    with pytest.raises(ValidationError, match="unknown track type 'raod'"):
        make(incidents="1.5,0.1,4;raod=off")
