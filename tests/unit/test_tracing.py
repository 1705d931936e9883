"""Trace context crosses a message hop through its headers, and log lines name the trace they belong to."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from plumbing.logs import JsonFormatter
from plumbing.tracing import TRACEPARENT, consuming, current_traceparent, inject, resumed, tracer

_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def _provider() -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    trace.set_tracer_provider(provider)


def _by_name(name: str) -> ReadableSpan:
    (span,) = [s for s in _EXPORTER.get_finished_spans() if s.name == name]
    return span


def test_a_consumed_message_continues_the_trace_of_the_span_that_sent_it() -> None:
    with tracer().start_as_current_span("handle OrderPlaced"):
        headers = inject({"type": "ReserveStock"})
    assert headers[TRACEPARENT].startswith("00-") and headers["type"] == "ReserveStock"

    with consuming("catalog.commands", headers, {"retrovault.message_type": "ReserveStock"}):
        pass

    sender, receiver = _by_name("handle OrderPlaced"), _by_name("process catalog.commands")
    assert sender.context is not None and receiver.context is not None and receiver.parent is not None
    assert receiver.context.trace_id == sender.context.trace_id
    assert receiver.parent.span_id == sender.context.span_id
    assert receiver.kind == trace.SpanKind.CONSUMER
    assert receiver.attributes is not None and receiver.attributes["messaging.destination.name"] == "catalog.commands"


def test_a_message_without_trace_context_starts_a_new_trace() -> None:
    with consuming("payment.commands", {"type": "ChargePayment"}, {}):
        pass
    assert _by_name("process payment.commands").parent is None


def test_log_lines_inside_a_span_carry_its_trace_and_span_ids() -> None:
    formatter = JsonFormatter("catalog", "catalog-1")
    record = logging.LogRecord("catalog.handlers", logging.INFO, __file__, 1, "reserved", None, None)
    with tracer().start_as_current_span("work") as span:
        inside = json.loads(formatter.format(record))
        context = span.get_span_context()
    outside = json.loads(formatter.format(record))
    assert inside["trace_id"] == f"{context.trace_id:032x}" and inside["span_id"] == f"{context.span_id:016x}"
    assert "trace_id" not in outside


def test_resumed_work_joins_the_stored_trace_and_links_the_request_that_triggered_it() -> None:
    with tracer().start_as_current_span("POST /orders"):
        stored = current_traceparent()
    with (
        tracer().start_as_current_span("POST /sagas/{saga_id}/replay") as request,
        resumed(stored, "replay charge_payment", {"retrovault.saga_id": "s-1"}),
    ):
        headers = inject({})
    order, replay = _by_name("POST /orders"), _by_name("replay charge_payment")
    assert order.context is not None and replay.context is not None and replay.parent is not None
    assert replay.context.trace_id == order.context.trace_id and replay.parent.span_id == order.context.span_id
    assert [link.context.span_id for link in replay.links] == [request.get_span_context().span_id]
    assert headers[TRACEPARENT].split("-")[1] == f"{order.context.trace_id:032x}"


def test_resumed_without_a_stored_trace_starts_one() -> None:
    with resumed(None, "deadline reserve_stock", {}):
        pass
    assert _by_name("deadline reserve_stock").parent is None
