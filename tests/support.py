"""Helpers for tests against the real stack: HTTP clients, the services' databases, Stripe, waiting.

What a shop's user does (browse, place an order, read it; an operator reading sagas) goes through the gateway with
that user's token; what no user does (a service's health, its database) goes to the service itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, Generic, TypeVar

import httpx
import sqlalchemy as sa
import stripe
from stripe.params import PaymentIntentListParams

from infra import localstripe, postgres
from infra.tokens import LocalTokens
from payment.settings import EMULATOR_KEY
from plumbing.demo_logins import demo_login
from plumbing.settings import service_url
from plumbing.unit_of_work import Transactions, U

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], *, timeout_s: float = 30.0, what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after the deadline."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.05)  # poll interval; the deadline above bounds the wait
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (last: {last!r})")


@cache
def api(service: str) -> httpx.Client:
    """An HTTP client for one service's API."""
    return httpx.Client(base_url=service_url(service), timeout=10.0)


class _GatewayToken(httpx.Auth):
    """Sends a bearer token naming ``subject`` with ``role``, signed with the local gateway's key, and signs a new one
    a minute before it expires. No login: a login's argon2 takes seconds on a busy box, enough to time a test out."""

    def __init__(self, role: str, subject: str) -> None:
        self.role, self.subject = role, subject
        self.token, self.renew_at = "", 0.0
        self.renewing = threading.Lock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self.renewing:
            if time.monotonic() >= self.renew_at:
                issued = LocalTokens().issue(self.subject, self.role)
                self.token, self.renew_at = issued.access_token, time.monotonic() + issued.expires_in - 60
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


@cache
def gateway_client(role: str = "operator", subject: str | None = None) -> httpx.Client:
    """An HTTP client for the gateway (paths as a user calls them: ``/api/orders``, ``/dashboard``) sending a token
    for ``role`` naming ``subject`` (e.g. a customer id; None: the demo login of that role, as if it had logged in).
    Requests without a token: ``api("gateway")``."""
    who = subject if subject is not None else demo_login(role).username
    return httpx.Client(base_url=service_url("gateway"), timeout=10.0, auth=_GatewayToken(role, who))


@cache
def database(service: str) -> sa.Engine:
    """An engine on a service's own database, as that service's role."""
    return sa.create_engine(postgres.dsn(service), pool_size=2, pool_pre_ping=True)


@contextmanager
def rolled_back(service: str, unit: Callable[[sa.Connection, sa.Table], U], outbox: sa.Table) -> Iterator[U]:
    """The service's unit of work on its real database, its transaction rolled back at the end."""
    engine = database(service)
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield Transactions(engine, outbox, unit).open(conn)
        finally:
            transaction.rollback()


class Joined(Generic[U]):
    """Units of work that all join one open unit of work (a test's rolled-back transaction); each ends by
    writing what it queued (its outbox rows and deferred writes), as a commit would."""

    def __init__(self, uow: U) -> None:
        self.uow = uow

    @contextmanager
    def begin(self) -> Iterator[U]:
        yield self.uow
        self.uow.flush()

    @contextmanager
    def read(self) -> Iterator[U]:
        yield self.uow


def query(service: str, sql: str, **params: Any) -> list[sa.Row[Any]]:
    """Rows of a read-only query on a service's database."""
    with database(service).connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def trace_spans(trace_id: str) -> list[dict[str, Any]]:
    """The spans the local trace sink holds for one trace (the e2e stack exports to it)."""
    from infra import trace_sink

    return list(httpx.get(f"{trace_sink.endpoint()}/traces/{trace_id}", timeout=5).json())


@cache
def stripe_client() -> stripe.StripeClient:
    """The official SDK pointed at the local Stripe emulator."""
    return stripe.StripeClient(EMULATOR_KEY, base_addresses={"api": localstripe.api_base()})


class _IntentIndex:
    """Which PaymentIntents Stripe holds for which order, learnt by listing them through Stripe's API.

    localstripe lists oldest first and pages slowly, so each look-up only lists the intents created since
    the previous one (``starting_after``); the order an intent belongs to (its metadata) never changes,
    and its status is read fresh with ``retrieve`` when asked for.
    """

    def __init__(self) -> None:
        self.by_order: dict[str, list[str]] = {}
        self.last_seen: str | None = None

    def refresh(self) -> None:
        params: PaymentIntentListParams = {"limit": 100}
        if self.last_seen:
            params["starting_after"] = self.last_seen
        for pi in stripe_client().v1.payment_intents.list(params=params).auto_paging_iter():
            order_id = pi.metadata.to_dict().get("order_id")
            if order_id:
                self.by_order.setdefault(order_id, []).append(pi.id)
            self.last_seen = pi.id


_INTENTS = _IntentIndex()


def payment_intents_by_order(order_ids: set[str]) -> dict[str, list[Any]]:
    """Every PaymentIntent Stripe holds for each of these orders (found by metadata), current status."""
    _INTENTS.refresh()
    client = stripe_client()
    return {
        order_id: [client.v1.payment_intents.retrieve(pi) for pi in _INTENTS.by_order.get(order_id, [])]
        for order_id in order_ids
    }


def payment_intents(order_id: str) -> list[Any]:
    """Every PaymentIntent Stripe holds for an order, read through Stripe's API."""
    return payment_intents_by_order({order_id})[order_id]


def refunds(intent_id: str) -> list[Any]:
    """Every refund of a PaymentIntent, through Stripe's API."""
    return list(stripe_client().v1.refunds.list(params={"payment_intent": intent_id, "limit": 100}).data)


def stock(sku: str) -> int:
    """A product's stock, as the catalogue shows it to anyone (through the gateway)."""
    response = api("gateway").get(f"/api/products/{sku}")
    response.raise_for_status()
    value: int = response.json()["stock"]
    return value


def place_order(
    items: list[tuple[str, int]], payment_method: str = "pm_card_visa", *, customer: str = "customer-test", **extra: Any
) -> httpx.Response:
    """``POST /api/orders`` through the gateway by ``customer`` with their token (``extra``: httpx's arguments).

    The gateway limits each customer's orders (a burst of 10, then one every 2 s): many orders at once need as many
    customers."""
    body = {
        "customer_id": customer,
        "items": [{"sku": sku, "quantity": qty} for sku, qty in items],
        "payment_method": payment_method,
    }
    return gateway_client("customer", customer).post("/api/orders", json=body, **extra)


def settled_order(order_id: str, timeout_s: float = 30.0) -> dict[str, Any]:
    """Wait until the order is no longer PENDING and return it (read through the gateway by an operator)."""

    def decided() -> dict[str, Any] | None:
        order: dict[str, Any] = gateway_client().get(f"/api/orders/{order_id}").json()
        return order if order["status"] != "PENDING" else None

    return wait_for(decided, timeout_s=timeout_s, what=f"order {order_id} to be decided")


def saga_of(order_id: str) -> dict[str, Any]:
    """The order's saga, as an operator reads it through the gateway."""
    sagas = gateway_client().get("/api/sagas", params={"order_id": order_id}).json()["items"]
    assert len(sagas) == 1, sagas
    saga: dict[str, Any] = sagas[0]
    return saga


def settled_saga(order_id: str, timeout_s: float = 30.0) -> dict[str, Any]:
    """Wait until the order's saga is in a terminal state and return it."""

    def finished() -> dict[str, Any] | None:
        sagas = gateway_client().get("/api/sagas", params={"order_id": order_id}).json()["items"]
        return sagas[0] if sagas and sagas[0]["state"] in ("COMPLETED", "COMPENSATED", "FAILED") else None

    return wait_for(finished, timeout_s=timeout_s, what=f"saga of order {order_id} to finish")


def no_saga_in_flight() -> bool:
    """True when no saga is running or compensating: nothing will write on its own (deadline re-sends)."""
    by_state = gateway_client().get("/api/sagas/summary").json()["by_state"]
    return not by_state.get("RUNNING") and not by_state.get("COMPENSATING")


def wait_until_quiet(timeout_s: float = 60.0) -> None:
    """Let the sagas that earlier tests left in flight finish, for a test that counts what the services write."""
    wait_for(no_saga_in_flight, timeout_s=timeout_s, what="no saga in flight")
