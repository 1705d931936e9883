"""Through the front door: demo logins, a customer's order placed and followed to APPROVED, the access rules
on the real services, the request id and the trace context carried through the gateway."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from functools import cache
from pathlib import Path

import httpx

from plumbing.settings import service_url
from tests.restocking import set_available
from tests.support import trace_spans, wait_for

CUSTOMER = ("demo-customer", "retro-customer")
OTHER_CUSTOMER = ("demo-customer-2", "retro-customer-2")
OPERATOR = ("demo-operator", "retro-operator")


@cache
def gateway() -> httpx.Client:
    return httpx.Client(base_url=service_url("gateway"), timeout=10.0)


def bearer(login: tuple[str, str]) -> dict[str, str]:
    answer = gateway().post("/auth/token", data={"username": login[0], "password": login[1]})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_a_customer_orders_through_the_gateway_and_only_they_and_operators_see_it() -> None:
    set_available("SNES-SMW", 40)
    customer, other, operator = bearer(CUSTOMER), bearer(OTHER_CUSTOMER), bearer(OPERATOR)
    trace_id = secrets.token_hex(16)
    headers = {**customer, "X-Request-Id": "e2e-gateway-1", "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    body = {"items": [{"sku": "SNES-SMW", "quantity": 1}], "payment_method": "pm_card_visa"}
    placed = gateway().post("/api/orders", json=body, headers=headers)
    assert (placed.status_code, placed.headers["x-request-id"]) == (202, "e2e-gateway-1")
    order_id = placed.json()["order_id"]

    def decided() -> dict[str, object] | None:
        order: dict[str, object] = gateway().get(f"/api/orders/{order_id}", headers=customer).json()
        return order if order["status"] != "PENDING" else None

    order = wait_for(decided, timeout_s=30, what=f"order {order_id} to be decided")
    assert (order["status"], order["customer_id"]) == ("APPROVED", "demo-customer")
    assert gateway().get(f"/api/orders/{order_id}", headers=other).status_code == 404
    assert gateway().get(f"/api/orders/{order_id}", headers=operator).json()["customer_id"] == "demo-customer"
    sagas = gateway().get("/api/sagas", params={"order_id": order_id}, headers=operator).json()["items"]
    assert [s["state"] for s in sagas] == ["COMPLETED"]
    assert gateway().get("/api/sagas", params={"order_id": order_id}, headers=customer).status_code == 403
    assert gateway().get("/api/sagas", params={"order_id": order_id}).status_code == 401
    spans = wait_for(
        lambda: [s for s in trace_spans(trace_id) if s["service"] == "orders"],
        timeout_s=30,
        what="orders' span in the caller's trace",
    )
    assert spans


def test_anyone_browses_the_catalogue_but_only_operators_restock() -> None:
    products = gateway().get("/api/products")
    assert products.status_code == 200
    assert products.json() == httpx.get(f"{service_url('catalog')}/products", timeout=10).json()
    adjustment = {"delta": 1, "reason": "gateway e2e"}
    path = "/api/products/SNES-SMW/stock-adjustments"
    assert gateway().post(path, json=adjustment).status_code == 401
    assert gateway().post(path, json=adjustment, headers=bearer(CUSTOMER)).status_code == 403


def test_a_wrong_login_and_a_forged_token_are_401() -> None:
    wrong = gateway().post("/auth/token", json={"username": OPERATOR[0], "password": "guess"})
    assert (wrong.status_code, wrong.headers["content-type"]) == (401, "application/problem+json")
    token = bearer(CUSTOMER)["Authorization"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    refused = gateway().get("/api/orders/x", headers={"Authorization": forged})
    assert refused.status_code == 401


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "coordinator.entrypoints.cli", *args]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=60, env={**os.environ, **env})


def test_the_cli_gets_an_operator_token_and_goes_through_the_gateway() -> None:
    issued = _cli("auth", "token", "--role", "operator")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    through = ["--gateway", service_url("gateway"), "sagas", "list", "--json", "--limit", "1"]
    listed = _cli(*through, RV_TOKEN=token)
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)
    refused = _cli(*through, RV_TOKEN=_cli("auth", "token", "--role", "customer").stdout.strip())
    assert (refused.returncode, refused.stderr) == (
        1,
        "retrovault: error: coordinator answered 403: your role may not do this\n",
    )


def test_retrovault_login_sends_later_commands_through_the_gateway_until_logout(tmp_path: Path) -> None:
    session = {"RV_CLI_SESSION_FILE": str(tmp_path / "session.json")}
    as_customer = _cli("login", "--role", "customer", **session)
    assert as_customer.returncode == 0, as_customer.stderr
    assert as_customer.stdout.startswith(f"logged in at {service_url('gateway')} as demo-customer until ")
    refused = _cli("sagas", "list", "--json", "--limit", "1", **session)
    assert (refused.returncode, refused.stderr) == (
        1,
        "retrovault: error: coordinator answered 403: your role may not do this\n",
    )
    assert _cli("login", "--role", "operator", **session).returncode == 0
    listed = _cli("sagas", "list", "--json", "--limit", "1", **session)
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)
    assert _cli("logout", **session).stdout == "logged out\n"
    assert not (tmp_path / "session.json").exists()
