"""Every service serves Prometheus metrics; they move when orders flow."""

from __future__ import annotations

import re

from tests.support import api, place_order, settled_saga, wait_until_quiet


def _sample(service: str, name: str, **labels: str) -> float:
    text = api(service).get("/metrics").text
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            total += float(match.group(2))
    return total


def test_metrics_count_sagas_steps_messages_and_stripe_calls() -> None:
    # The counters are the whole service's: let sagas that earlier tests left in flight finish first.
    wait_until_quiet()
    before = {
        "completed": _sample("coordinator", "rv_sagas_total", event="completed"),
        "compensated": _sample("coordinator", "rv_sagas_total", event="compensated"),
        "declined": _sample("payment", "rv_stripe_calls_total", operation="confirm", outcome="card_declined"),
        "applied": _sample("catalog", "rv_messages_total", topic="catalog.commands", outcome="applied"),
    }
    ok = place_order([("NES-CONTRA", 1)], "pm_card_visa").json()["order_id"]
    declined = place_order([("NES-CONTRA", 1)], "pm_card_chargeCustomerFail").json()["order_id"]
    settled_saga(ok)
    settled_saga(declined)
    assert _sample("coordinator", "rv_sagas_total", event="completed") == before["completed"] + 1
    assert _sample("coordinator", "rv_sagas_total", event="compensated") == before["compensated"] + 1
    assert _sample("payment", "rv_stripe_calls_total", operation="confirm", outcome="card_declined") == (
        before["declined"] + 1
    )
    # reserve twice, release once
    assert _sample("catalog", "rv_messages_total", topic="catalog.commands", outcome="applied") == before["applied"] + 3
    assert _sample("coordinator", "rv_saga_step_seconds_count", action="charge_payment", outcome="failed") >= 1
    assert "rv_outbox_backlog" in api("orders").get("/metrics").text
    assert "rv_consumer_lag" in api("orders").get("/metrics").text
