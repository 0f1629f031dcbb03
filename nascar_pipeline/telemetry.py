"""OpenTelemetry tracing shared by the API and (later) Dagster runs.

One TracerProvider per process, configured from the standard OTEL_* variables (read through
nascar_pipeline.settings):
- OTEL_SDK_DISABLED=true: no spans are recorded at all;
- OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES: the resource (default service name given by
  the caller);
- OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set: spans are batched and
  exported over OTLP/HTTP (the exporter reads its own OTEL_EXPORTER_OTLP_* headers, timeout,
  compression, certificate variables); unset: spans are recorded but exported nowhere.

Tests call `install_in_memory_exporter()` to read back finished spans.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from opentelemetry import trace

from nascar_pipeline.settings import get_settings

if TYPE_CHECKING:  # pragma: no cover
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_lock = threading.Lock()
_provider: TracerProvider | None = None
_memory_exporter: InMemorySpanExporter | None = None

DEFAULT_SERVICE_NAME = "nascar-pipeline"


def otlp_configured() -> bool:
    return get_settings().otlp_configured


def setup_tracing(service_name: str = DEFAULT_SERVICE_NAME) -> trace.TracerProvider:
    """The process's TracerProvider, created on first call (later calls return the same one).

    It is also installed as OpenTelemetry's global provider when no other SDK provider is set,
    so libraries that call `trace.get_tracer` join the same traces."""
    global _provider
    with _lock:
        if _provider is not None:
            return _provider
        settings = get_settings()
        if settings.otel_sdk_disabled:
            return trace.NoOpTracerProvider()
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        attrs = {}
        if not settings.otel_service_name:
            attrs[SERVICE_NAME] = service_name
        # Resource.create merges OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME itself.
        provider = TracerProvider(resource=Resource.create(attrs))
        if settings.otlp_configured:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _provider = provider
        current = trace.get_tracer_provider()
        if type(current).__name__ in ("ProxyTracerProvider", "NoOpTracerProvider"):
            trace.set_tracer_provider(provider)
        return provider


def get_tracer(name: str) -> trace.Tracer:
    """A tracer from this module's provider (set up on first use)."""
    return setup_tracing().get_tracer(name)


def install_in_memory_exporter() -> InMemorySpanExporter:
    """Record finished spans in memory (for tests); returns the exporter, cleared.
    Installed once per process; later calls clear and return the same exporter."""
    global _memory_exporter
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = setup_tracing()
    with _lock:
        if _memory_exporter is None:
            _memory_exporter = InMemorySpanExporter()
            if not hasattr(provider, "add_span_processor"):
                raise RuntimeError("tracing is disabled (OTEL_SDK_DISABLED=true)")
            provider.add_span_processor(SimpleSpanProcessor(_memory_exporter))
        _memory_exporter.clear()
        return _memory_exporter


def shutdown_tracing() -> None:
    """Flush and stop exporters (call at process exit; the API's lifespan flushes only)."""
    global _provider
    with _lock:
        if _provider is not None and hasattr(_provider, "shutdown"):
            _provider.shutdown()
        _provider = None


def force_flush(timeout_millis: int = 5000) -> None:
    if _provider is not None and hasattr(_provider, "force_flush"):
        _provider.force_flush(timeout_millis)
