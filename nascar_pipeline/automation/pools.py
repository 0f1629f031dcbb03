"""Concurrency pool limits. Dagster keeps per-pool limits in the instance (not dagster.yaml, whose
`concurrency.pools.default_limit` covers any pool not set here), so the commands that prepare an
instance (`nascar-pipeline dev`, `nascar-pipeline backfill`) apply these.

neo4j: the I/O-bound reads of the ontology (a few at once are fine).
mcmc:  the NumPyro fits; each takes every core it can, so one at a time on a small machine.
Override with NASCAR_POOL_LIMITS="neo4j=4,mcmc=1" (parsed by nascar_pipeline.settings).
"""

from __future__ import annotations

from nascar_pipeline.settings import get_settings

DEFAULT_POOL_LIMITS = {"neo4j": 4, "mcmc": 1}


def pool_limits() -> dict[str, int]:
    """The defaults, overridden pool by pool by NASCAR_POOL_LIMITS."""
    return {**DEFAULT_POOL_LIMITS, **get_settings().pool_limits}


def apply_pool_limits(instance, limits: dict[str, int] | None = None) -> dict[str, int]:
    """Set each pool's slot count on the instance (idempotent). Returns what was set."""
    limits = limits or pool_limits()
    for pool, count in limits.items():
        instance.event_log_storage.set_concurrency_slots(pool, count)
    return limits
