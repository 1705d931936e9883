"""One order, one trace: the W3C trace context travels from the HTTP request, through the gateway, through every
Kafka hop."""

from __future__ import annotations

import secrets
from typing import Any

from infra import trace_sink
from tests.restocking import set_available
from tests.support import place_order, settled_saga, trace_spans, wait_for

SERVICES = {"gateway", "orders", "coordinator", "catalog", "payment"}


def test_one_order_gives_one_trace_through_the_gateway_and_all_four_services() -> None:
    assert trace_sink.is_running(), (
        "the stack must be started with the trace sink (python -m infra.stack up --trace-sink)"
    )
    set_available("SNES-ALTTP", 40)
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    response = place_order([("SNES-ALTTP", 1)], headers={"traceparent": f"00-{trace_id}-{caller_span}-01"})
    assert response.status_code == 202
    order_id = response.json()["order_id"]
    assert settled_saga(order_id)["state"] == "COMPLETED"

    seen: list[dict[str, Any]] = []

    def whole_trace() -> list[dict[str, Any]] | None:
        # Each service exports on its own schedule: wait until the last hop is in and no parent is missing.
        seen[:] = trace_spans(trace_id)
        # The last hop: the coordinator consuming OrderApproved.
        done = any(
            s["service"] == "coordinator" and s["attributes"].get("retrovault.message_type") == "OrderApproved"
            for s in seen
        )
        ids = {s["span_id"] for s in seen} | {caller_span}
        return list(seen) if done and all(s["parent_span_id"] in ids for s in seen) else None

    try:
        spans = wait_for(whole_trace, timeout_s=30, what=f"trace {trace_id} to reach the sink as one tree")
    except AssertionError as error:
        summary = [(s["service"], s["name"], s["span_id"], s["parent_span_id"]) for s in seen]
        raise AssertionError(f"{error}; spans so far: {summary}") from None

    assert {s["trace_id"] for s in spans} == {trace_id}
    assert {s["service"] for s in spans} == SERVICES
    (front,) = [s for s in spans if s["kind"] == "SERVER" and s["name"] == "POST /api/orders"]
    assert front["service"] == "gateway" and front["parent_span_id"] == caller_span
    (forwarded,) = [s for s in spans if s["kind"] == "CLIENT" and s["parent_span_id"] == front["span_id"]]
    (server,) = [s for s in spans if s["kind"] == "SERVER" and s["name"] == "POST /orders"]
    assert server["service"] == "orders" and server["parent_span_id"] == forwarded["span_id"]

    consumed = {(s["service"], s["attributes"]["retrovault.message_type"]) for s in spans if s["kind"] == "CONSUMER"}
    assert {
        ("coordinator", "OrderPlaced"),
        ("catalog", "ReserveStock"),
        ("coordinator", "StockReserved"),
        ("payment", "ChargePayment"),
        ("coordinator", "PaymentSucceeded"),
        ("orders", "ApproveOrder"),
        ("coordinator", "OrderApproved"),
    } <= consumed
    saga_hops = [s for s in spans if s["kind"] == "CONSUMER" and s["attributes"]["retrovault.saga_id"]]
    assert len(saga_hops) >= 6 and all(s["attributes"]["retrovault.order_id"] == order_id for s in saga_hops)
    stripe_calls = [s for s in spans if s["kind"] == "CLIENT" and s["service"] == "payment"]
    assert stripe_calls and all(s["name"].startswith("stripe ") for s in stripe_calls)
