"""Service logs are JSON lines that name the order and saga being handled."""

from __future__ import annotations

import json
import logging

from plumbing.logs import JsonFormatter, about


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("orders.handlers", logging.WARNING, __file__, 1, message, None, None)


def test_a_record_inside_about_carries_the_order_and_saga() -> None:
    formatter = JsonFormatter("orders", "orders-1")
    with about(order_id="o-1", saga_id="s-1"):
        inside = json.loads(formatter.format(_record("handling")))
    outside = json.loads(formatter.format(_record("idle")))
    assert inside["order_id"] == "o-1" and inside["saga_id"] == "s-1"
    assert inside["service"] == "orders" and inside["level"] == "WARNING" and inside["message"] == "handling"
    assert inside["instance"] == "orders-1"
    assert "order_id" not in outside and "saga_id" not in outside
