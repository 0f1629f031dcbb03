"""OpenTelemetry spans for asset work: one span per asset step, tagged with the race and run,
so a trace shows where a race's minutes went (Neo4j read, MCMC, simulation, writes)."""

from contextlib import contextmanager

from nascar_pipeline.telemetry import get_tracer

_tracer = get_tracer("nascar_pipeline.assets")


@contextmanager
def asset_span(context, name: str | None = None, **attributes):
    step = name or context.asset_key.to_user_string()
    attrs = {"dagster.run_id": context.run_id, "dagster.asset": step}
    if context.has_partition_key:
        attrs["nascar.race_key"] = context.partition_key
    attrs.update({k: v for k, v in attributes.items() if v is not None})
    with _tracer.start_as_current_span(f"asset {step}", attributes=attrs) as span:
        yield span
