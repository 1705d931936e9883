"""OpenTelemetry tracing: one trace per order, carried between services in Kafka headers (W3C trace context).

Spans are always made (so every log line and every outbox row carries a trace id), but they leave the
process only when an OTLP endpoint is configured with the standard variables
``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (OTLP over HTTP/protobuf).
``OTEL_SDK_DISABLED=true`` turns the SDK off altogether; ``OTEL_TRACES_SAMPLER`` and the
``OTEL_BSP_*`` batch settings are read by the SDK itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind

TRACEPARENT = "traceparent"
"""The W3C trace-context header (https://www.w3.org/TR/trace-context/); ``tracestate`` travels with it."""

_TRACER_NAME = "retrovault"


def configure_tracing(service: str, instance: str, *, export: bool) -> TracerProvider:
    """Install the process's tracer provider; export over OTLP/HTTP only when ``export`` (the settings'
    ``tracing``: an endpoint is configured).

    Its resource names the service and the instance (``service.instance.id``).
    """
    attributes = {
        SERVICE_NAME: service,
        "service.namespace": "retrovault",
        SERVICE_INSTANCE_ID: instance,
    }
    provider = TracerProvider(resource=Resource.create(attributes))
    if export:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def shutdown_tracing() -> None:
    """Flush spans still queued for export (called when the service stops)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()


@cache
def tracer() -> trace.Tracer:
    """The tracer RetroVault's own spans come from (looked up once: before the provider is installed it is a
    proxy that uses the provider installed later)."""
    return trace.get_tracer(_TRACER_NAME)


def inject(headers: dict[str, str]) -> dict[str, str]:
    """Add the current span's trace context to message headers (returns them for chaining)."""
    propagate.inject(headers)
    return headers


@contextmanager
def consuming(topic: str, headers: Mapping[str, str], attributes: Mapping[str, Any]) -> Iterator[Span]:
    """A consumer span for one message, a child of the span that produced it (read from its headers)."""
    parent = propagate.extract(dict(headers))
    with tracer().start_as_current_span(
        f"process {topic}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={"messaging.system": "kafka", "messaging.destination.name": topic, **attributes},
    ) as span:
        yield span


def current_traceparent() -> str | None:
    """The current span's ``traceparent`` (to store beside work that may be resumed later), or None."""
    return inject({}).get(TRACEPARENT)


@contextmanager
def resumed(traceparent: str | None, name: str, attributes: Mapping[str, Any]) -> Iterator[Span]:
    """A span in the trace ``traceparent`` names (e.g. a saga's order), linked to whatever span is current.

    For work done later on behalf of an earlier request: a deadline's re-send joins the order's trace, and an
    operator's replay joins it too while keeping a link to the replay request.
    """
    current = trace.get_current_span().get_span_context()
    links = [trace.Link(current)] if current.is_valid else []
    parent = propagate.extract({TRACEPARENT: traceparent} if traceparent else {})
    with tracer().start_as_current_span(name, context=parent, links=links, attributes=dict(attributes)) as span:
        yield span


@contextmanager
def calling(name: str, attributes: Mapping[str, Any]) -> Iterator[Span]:
    """A client span around a call to another system (e.g. Stripe)."""
    with tracer().start_as_current_span(name, kind=SpanKind.CLIENT, attributes=dict(attributes)) as span:
        yield span


def current_ids() -> tuple[str, str] | None:
    """The current trace and span id as hex, or None outside any span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def captured() -> otel_context.Context:
    """The current trace context, to carry work's results to another thread (see ``within``)."""
    return otel_context.get_current()


@contextmanager
def within(context: otel_context.Context) -> Iterator[None]:
    """Make ``context`` (from ``captured``) current for the block, e.g. so messages sent there join its trace."""
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)
