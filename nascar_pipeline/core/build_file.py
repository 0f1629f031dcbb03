"""The build's config file (`nascar-pipeline build --config FILE`, lineup_portfolio's
`steering_file`): the steering (core/steering.py `Steering`) plus the blend weights of the
player's own numbers (`ingest projections`). Pure (pydantic, YAML/TOML parsing).

The weights are not steering of the lineups: they move what the lineups are built on, so they
go to other assets' run config (USER_WEIGHT_ASSET) and `build` re-runs race_scenarios when the
projection weight differs from the one its stored scenarios were moved with:

    user_projection_weight: 0.7   # race_scenarios: 0 the model's means only .. 1 the player's
    user_ownership_weight: 0.3    # ownership_projections: 0 the model's ownership .. 1 the player's
    n_lineups: 20                 # ... the steering fields, at the top or under `steering:`

Unset, each asset keeps its own default (the sensor's run config, else 0.5 for the projections
and the ownership model's vendor weight for the ownership).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from nascar_pipeline.core.steering import Steering, load_config_data

# weight -> the asset whose run config takes it
USER_WEIGHT_ASSET = {
    "user_projection_weight": "race_scenarios",
    "user_ownership_weight": "ownership_projections",
}


class UserWeights(BaseModel):
    """The blend weights a build file may set (None: the asset's default)."""

    model_config = ConfigDict(extra="forbid")

    user_projection_weight: float | None = Field(
        None, ge=0.0, le=1.0, description="player's projections: 0 model only .. 1 player's only"
    )
    user_ownership_weight: float | None = Field(
        None, ge=0.0, le=1.0, description="player's ownership: 0 model only .. 1 player's only"
    )

    def run_config_ops(self) -> dict[str, dict]:
        """{asset: {weight field: value}} for the weights the file sets."""
        ops: dict[str, dict] = {}
        for key, asset in USER_WEIGHT_ASSET.items():
            value = getattr(self, key)
            if value is not None:
                ops.setdefault(asset, {})[key] = float(value)
        return ops


def parse_build_file(text: str, fmt: str) -> tuple[Steering, UserWeights]:
    """(Steering, UserWeights) of a build file's text. The weights may sit at the top level or
    beside the steering fields under `steering:`. Raises pydantic's ValidationError naming the
    field (the caller names the file), ValueError on a syntax problem."""
    data = dict(load_config_data(text, fmt))
    weights = {k: data.pop(k) for k in USER_WEIGHT_ASSET if k in data}
    if set(data) == {"steering"} and isinstance(data["steering"], dict):
        data = dict(data["steering"])
        weights.update({k: data.pop(k) for k in USER_WEIGHT_ASSET if k in data})
    user = UserWeights.model_validate(weights)
    return Steering.model_validate(data), user
