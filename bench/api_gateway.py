"""The API gateway's cost: the same order load straight to orders and through the gateway, at one moderate rate.

Orders through the gateway are placed by simulated customers, each with a customer token (signed with the local
stack's key, as its issuer would) and naming themselves as ``customer_id``: the path a shop's orders take, with
the body check and the per-customer rate limit. There are enough of them that none reaches the rate limit
(each orders at half the rate it allows). An operator token would skip both checks, so it would measure less
than a customer's order costs.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from bench import sweep
from bench.load import Caller, Mix
from bench.measure import StepResult, Target
from gateway.settings import GatewaySettings
from infra.tokens import LocalTokens
from plumbing.settings import service_url

GATEWAY = "gateway"
"""The gateway's process in each step's CPU figures."""


def customers_needed(rate_per_s: float, orders_per_minute: float) -> int:
    """How many customers share ``rate_per_s`` orders so that each orders at half their allowance."""
    return max(math.ceil(2.0 * rate_per_s * 60.0 / orders_per_minute), 1)


def callers(count: int) -> tuple[Caller, ...]:
    """``count`` simulated customers (``bench-customer-<i>``), each with a fresh customer token."""
    tokens = LocalTokens()
    names = [f"bench-customer-{i}" for i in range(1, count + 1)]
    return tuple((name, tokens.issue(name, "customer").access_token) for name in names)


def through_gateway(direct: Target, customers: tuple[Caller, ...]) -> Target:
    """``direct`` with its orders sent to the gateway's ``/api/orders`` by ``customers``."""
    return dataclasses.replace(direct, orders_url=service_url(GATEWAY), orders_path="/api/orders", callers=customers)


def _figures(step: StepResult) -> dict[str, Any]:
    lat, http = step.latency_ms, step.http_ms
    return {
        "sustainable": step.sustainable,
        "accepted": step.accepted,
        "refused": step.refused,
        "completed_per_s": step.completed_per_s,
        "saga_p50_ms": lat.get("p50"),
        "saga_p99_ms": lat.get("p99"),
        "http_p50_ms": http.get("p50"),
        "http_p99_ms": http.get("p99"),
    }


def compare(direct: StepResult, gated: StepResult, customers: int) -> dict[str, Any]:
    """The two steps side by side, and the gateway's CPU milliseconds per order it passed on (accepted ones)."""
    orders_per_s = gated.accepted / gated.duration_s if gated.duration_s > 0 else 0.0
    percent = gated.cpu_percent.get(GATEWAY, 0.0)
    per_order = round(percent * 10.0 / orders_per_s, 2) if orders_per_s > 0 else None

    def minus(key: str) -> float | None:
        a, b = _figures(gated)[key], _figures(direct)[key]
        return round(a - b, 1) if a is not None and b is not None else None

    return {
        "rate_per_s": gated.offered_per_s,
        "tokens": "customer",
        "customers": customers,
        "direct": _figures(direct),
        "through_gateway": _figures(gated),
        "added_http_p50_ms": minus("http_p50_ms"),
        "added_http_p99_ms": minus("http_p99_ms"),
        "gateway_cpu_percent": percent,
        "gateway_cpu_ms_per_order": per_order,
    }


def measure(
    target: Target, mix: Mix, rate: float, plan: sweep.Plan, since: float
) -> tuple[list[StepResult], dict[str, Any]]:
    """A step straight to orders, then one through the gateway, at ``rate``; the steps and their comparison."""
    count = customers_needed(rate, GatewaySettings.load().gateway_orders_per_minute)
    print(
        f"==> API gateway: {rate:g} orders/s straight to orders, then through the gateway ({count} customers)",
        flush=True,
    )
    direct = sweep.at_rate(target, "api-direct", rate, plan.duration_s, mix, plan, since)
    gated = sweep.at_rate(
        through_gateway(target, callers(count)), "api-gateway", rate, plan.duration_s, mix, plan, since
    )
    return [direct, gated], compare(direct, gated, count)
