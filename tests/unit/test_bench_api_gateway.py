"""The benchmark's API gateway phase: how many customers share the load, and the gateway's cost per order."""

from __future__ import annotations

from bench.api_gateway import compare, customers_needed
from bench.measure import StepResult


def _step(mode: str, accepted: int, cpu_percent: dict[str, float], http_p50: float) -> StepResult:
    step = StepResult("retrovault", mode, offered_per_s=20.0, duration_s=15.0, sent=300, accepted=accepted)
    step.cpu_percent, step.completed_per_s = cpu_percent, 19.5
    step.latency_ms = {"p50": 400.0, "p99": 900.0}
    step.http_ms = {"p50": http_p50, "p99": 2 * http_p50}
    step.sustainable = True
    return step


def test_each_customer_orders_at_half_the_rate_the_gateway_allows() -> None:
    assert customers_needed(20.0, 30.0) == 80  # 20/s shared by 80: one order every 4 s each, the limit every 2 s
    assert customers_needed(0.1, 30.0) == 1


def test_the_gateways_cpu_per_order_is_its_share_of_a_core_over_the_orders_it_passed_on() -> None:
    direct = _step("api-direct", 300, {"gateway": 0.0, "orders": 30.0}, http_p50=4.0)
    gated = _step("api-gateway", 300, {"gateway": 12.0, "orders": 31.0}, http_p50=9.5)

    found = compare(direct, gated, customers=80)

    # 12 % of a core is 120 ms of CPU per second, over 20 orders a second: 6 ms each.
    assert found["gateway_cpu_ms_per_order"] == 6.0
    assert (found["rate_per_s"], found["tokens"], found["customers"]) == (20.0, "customer", 80)
    assert found["added_http_p50_ms"] == 5.5 and found["added_http_p99_ms"] == 11.0
    assert found["through_gateway"]["http_p50_ms"] == 9.5 and found["direct"]["http_p50_ms"] == 4.0


def test_no_cpu_per_order_when_nothing_passed_through() -> None:
    direct = _step("api-direct", 300, {"gateway": 0.0}, http_p50=4.0)
    gated = _step("api-gateway", 0, {"gateway": 3.0}, http_p50=4.0)
    assert compare(direct, gated, customers=80)["gateway_cpu_ms_per_order"] is None
