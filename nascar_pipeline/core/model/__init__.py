"""The NumPyro race model: data preparation, the model, inference and diagnostics.

Importing this package turns on JAX's persistent compilation cache (core/jax_setup.py).
"""

from nascar_pipeline.core.jax_setup import enable_compilation_cache

enable_compilation_cache()

from nascar_pipeline.core.model.data import (  # noqa: E402
    TRACK_TYPES,
    HistoryData,
    ModelConfig,
    history_hash,
    prepare_history,
)
from nascar_pipeline.core.model.diagnostics import convergence_check  # noqa: E402
from nascar_pipeline.core.model.fit import FitConfig, FitResult, fit_model  # noqa: E402

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
