"""The NumPyro race model: data preparation, the model, inference and diagnostics.

Importing it changes no JAX setting: entry points call core.jax_setup.configure_jax (the
compilation cache folder, host devices for parallel chains) before their first JAX operation.
"""

from nascar_pipeline.core.model.data import (
    TRACK_TYPES,
    HistoryData,
    ModelConfig,
    history_hash,
    prepare_history,
)
from nascar_pipeline.core.model.diagnostics import convergence_check
from nascar_pipeline.core.model.fit import FitConfig, FitResult, fit_model

__all__ = [
    "TRACK_TYPES",
    "HistoryData",
    "ModelConfig",
    "history_hash",
    "prepare_history",
    "convergence_check",
    "FitConfig",
    "FitResult",
    "fit_model",
]
