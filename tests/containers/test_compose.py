"""compose.yaml is the same system: two replicas of every service and of the gateway over one Kafka, PostgreSQL and
Stripe emulator, with only the gateway published.

An operator (the demo login, not rate-limited) places orders for many customers through the gateway (approved,
declined card, out of stock) while one container of every service, the gateway's included, is killed (SIGKILL) and
started again; afterwards every order is terminal, stock is conserved and every approved order was charged exactly
once (tests/faults/harness.py's invariants, read from the services' databases, the dead-letter topic and Stripe's
API through their published ports), and what the operator reads through the gateway agrees. A customer's token
reads no one else's order and no saga.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from functools import partial

import httpx

from plumbing.demo_logins import demo_login
from plumbing.services import ALL_SERVICES, GATEWAY, SERVICE_NAMES
from tests.containers.conftest import System
from tests.faults.harness import (
    SHORT_SKU,
    STREAM_SKUS,
    Run,
    begin,
    check_invariants,
    during,
    expected_statuses,
    quiesce,
    settle,
)
from tests.restocking import set_available
from tests.support import query, wait_for

ORDERS = 60
KILLED = tuple(s.name for s in ALL_SERVICES)
KILL_AT = (8, 16, 24, 32, 40)
"""How many orders the stream has placed when each service's container is killed (in KILLED order)."""
RETRY_FOR_S = 90.0
"""How long one order is retried (same Idempotency-Key) while the gateway answers that a service is away."""
AWAY = (502, 503, 504)


def _state(system: System, container: str) -> dict[str, object]:
    state: dict[str, object] = json.loads(system.docker("inspect", "--format", "{{json .State}}", container))
    return state


def _healthy(system: System, container: str) -> bool:
    state = _state(system, container)
    health = state.get("Health")
    return bool(state["Running"]) and isinstance(health, dict) and health.get("Status") == "healthy"


def _restock(operator: httpx.Client, stock: int = 2000) -> None:
    """harness.restock's levels, set by an operator through the gateway (catalog publishes no port)."""
    quiesce()
    for sku in STREAM_SKUS:
        set_available(sku, stock, operator=operator)
    set_available(SHORT_SKU, 5, operator=operator)

    def view_has_it() -> bool:
        rows = query("orders", "SELECT stock FROM product_view WHERE sku = ANY(:s)", s=list(STREAM_SKUS))
        return len(rows) == len(STREAM_SKUS) and all(r.stock == stock for r in rows)

    wait_for(view_has_it, timeout_s=30, what="orders' product view to see the new stock")


def _place(operator: httpx.Client, body: dict[str, object], key: str, retried: Counter[str]) -> httpx.Response:
    """One order, sent again with its Idempotency-Key while the gateway says a service is away (as its 503/504
    tell a client to): an order the first try committed is answered again, not placed twice."""
    deadline = time.monotonic() + RETRY_FOR_S
    while True:
        try:
            response = operator.post("/api/orders", json=body, headers={"Idempotency-Key": key})
            if response.status_code not in AWAY or time.monotonic() > deadline:
                return response
            retried[str(response.status_code)] += 1
        except httpx.TransportError as error:
            if time.monotonic() > deadline:
                raise
            retried[type(error).__name__] += 1
        time.sleep(0.2)  # the pause between tries; RETRY_FOR_S bounds them


def _login(base_url: str, role: str = "operator") -> str:
    """A token from the gateway at ``base_url`` for the demo login of ``role``."""
    login = demo_login(role)
    answer = httpx.post(
        f"{base_url}/auth/token", json={"username": login.username, "password": login.password}, timeout=10.0
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def _logged_in(system: System, role: str, replica: int = 0) -> httpx.Client:
    """A client of one gateway replica with a token its ``POST /auth/token`` gave the demo login of ``role``.
    (Not tests.support.gateway_client: that one signs with the local stack's key, which Compose's gateway does
    not know; its own key is in a volume.)"""
    base_url = f"http://127.0.0.1:{system.published_port(GATEWAY.name, GATEWAY.port, replica)}"
    return httpx.Client(base_url=base_url, timeout=10.0, headers={"Authorization": f"Bearer {_login(base_url, role)}"})


def test_only_the_gateway_is_published_and_the_init_step_seeded_its_logins(system: System) -> None:
    for name in KILLED:
        assert len(system.replicas(name)) == 2, f"{name} does not run two replicas"
    for name in SERVICE_NAMES:
        for replica in system.replicas(name):
            assert system.docker("port", str(replica.ID)).strip() == "", f"{replica.Name} publishes a port"
    init_log = system.compose.get_logs("init")[0]
    assert "gateway: migrated" in init_log, init_log
    assert "gateway: added demo logins demo-customer, demo-customer-2, demo-operator" in init_log, init_log


def test_every_invariant_holds_when_one_container_of_each_service_is_killed(system: System) -> None:
    # The stream talks to the gateway's first replica (its port is RV_GATEWAY_PORT); the second of each is killed.
    victims = {name: str(system.replicas(name)[1].ID) for name in KILLED}
    started = {name: _state(system, container)["StartedAt"] for name, container in victims.items()}
    operator = _logged_in(system, "operator")  # tokens last 15 minutes: a new one for the reads below
    _restock(operator)
    run = begin()
    retried: Counter[str] = Counter()

    def kill_each_service_once(run: Run) -> None:
        for moment, name in zip(KILL_AT, KILLED, strict=True):
            run.wait_placed(moment)
            system.docker("kill", victims[name])
        for container in victims.values():
            system.docker("start", container)
        for name, container in victims.items():
            wait_for(partial(_healthy, system, container), timeout_s=240, what=f"{name} healthy again")

    def place(index: int, body: dict[str, object]) -> httpx.Response:
        return _place(operator, body, f"compose-{run.started_at.timestamp()}-{index}", retried)

    # The killed containers must be healthy again within 10 minutes of the last order.
    during(run, ORDERS, kill_each_service_once, place=place, fault_timeout_s=600)
    print(f"orders sent again through the gateway (answer or error of the try before): {dict(retried)}")
    again = {name: _state(system, container)["StartedAt"] for name, container in victims.items()}
    assert all(again[name] != started[name] for name in KILLED), "a killed container was not started again"
    orders = settle(run)
    check_invariants(run, orders)

    assert not run.refused, f"orders refused even after retries with their Idempotency-Key: {run.refused} ({retried})"
    assert len(orders) == len(run.accepted) == len(set(run.accepted)) == ORDERS
    statuses = {o.order_id: o.status for o in orders}
    assert statuses == expected_statuses(orders)
    reasons = [o.reason for o in orders if o.status == "REJECTED"]
    assert any("out of stock" in r for r in reasons), reasons
    assert any("payment declined" in r for r in reasons), reasons

    # What an operator reads through the gateway is what the databases hold.
    operator = _logged_in(system, "operator")
    read = {i: operator.get(f"/api/orders/{i}").json()["status"] for i in run.accepted}
    assert read == statuses
    sagas = {i: operator.get("/api/sagas", params={"order_id": i}).json()["items"] for i in run.accepted}
    done = {"APPROVED": "COMPLETED", "REJECTED": "COMPENSATED"}
    assert {i: [s["state"] for s in found] for i, found in sagas.items()} == {
        i: [done[status]] for i, status in statuses.items()
    }

    # The replicas share one signing key: a token from either (the restarted one too) verifies at the other.
    for issuer, verifier in ((0, 1), (1, 0)):
        token = _logged_in(system, "operator", issuer).headers["Authorization"]
        url = f"http://127.0.0.1:{system.published_port(GATEWAY.name, GATEWAY.port, verifier)}/api/sagas"
        answer = httpx.get(url, params={"limit": 1}, headers={"Authorization": token}, timeout=10.0)
        assert answer.status_code == 200, (issuer, verifier, answer.text)

    # A customer reads no one else's order (exactly orders' own 404) and no saga.
    customer = _logged_in(system, "customer")
    someone_elses = customer.get(f"/api/orders/{run.accepted[0]}")
    assert someone_elses.status_code == 404, someone_elses.text
    assert someone_elses.headers["content-type"].startswith("application/problem+json")
    assert customer.get("/api/sagas").status_code == 403
