"""Fault-injection harness: a stream of orders, a fault while they are in flight, then the invariants.

Orders come in as a shop's do: through the gateway, each customer with their own token. The invariants are read
from each service's own database and from Stripe's API, never from what the test thinks it sent: an order that
was committed while its HTTP request failed still counts.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from confluent_kafka import Consumer, TopicPartition

from contracts.topics import DEAD_LETTERS
from infra import kafka
from infra.tokens import LocalTokens
from tests.restocking import set_available
from tests.support import api, payment_intents_by_order, query, refunds, wait_for

STREAM_SKUS = ("NES-SMB3", "SNES-SMW", "N64-MK64", "GB-TETRIS", "PS1-CRASH", "GEN-SONIC2")
SHORT_SKU = "DC-JETSET"  # always ordered 100 at a time while it holds fewer: out of stock
SETTLE_S = 240.0


@dataclass
class Run:
    """One scenario's orders and what it saw."""

    started_at: datetime
    stock_before: dict[str, int]
    dead_letters_before: int = 0
    accepted: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    placed: int = 0
    progress: threading.Condition = field(default_factory=threading.Condition)

    def wait_placed(self, count: int, timeout_s: float = 120.0) -> None:
        """Block until the stream has tried ``count`` orders."""
        with self.progress:
            if not self.progress.wait_for(lambda: self.placed >= count, timeout_s):
                raise AssertionError(f"the stream placed only {self.placed} of {count} orders")


def quiesce(timeout_s: float = SETTLE_S) -> None:
    """Wait until no saga at all is in flight (an earlier run may have left some finishing)."""
    wait_for(
        lambda: (
            query("coordinator", "SELECT count(*) AS n FROM sagas WHERE finished_at IS NULL AND stuck_reason IS NULL")[
                0
            ].n
            == 0
        ),
        timeout_s=timeout_s,
        what="all sagas to finish before the scenario",
    )


def restock(stock: int = 2000) -> None:
    """Give the stream's products plenty of stock, so the mix stays mostly successes run after run."""
    quiesce()
    for sku in STREAM_SKUS:
        set_available(sku, stock)
    set_available(SHORT_SKU, 5)
    wait_for(lambda: _view_has(STREAM_SKUS, stock), timeout_s=30, what="orders' product view to see the new stock")


def _view_has(skus: tuple[str, ...], stock: int) -> bool:
    rows = query("orders", "SELECT sku, stock FROM product_view WHERE sku = ANY(:s)", s=list(skus))
    return len(rows) == len(skus) and all(r.stock == stock for r in rows)


def stock_levels() -> dict[str, int]:
    """Every product's stock, from catalog's database."""
    return {row.sku: row.stock for row in query("catalog", "SELECT sku, stock FROM products")}


def begin() -> Run:
    """Start a scenario: note the time and the stock."""
    return Run(
        started_at=_db_now() - timedelta(milliseconds=1),
        stock_before=stock_levels(),
        dead_letters_before=dead_letters(),
    )


def dead_letters() -> int:
    """How many messages the dead-letter topic has ever received (its end offset: it has one partition)."""
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers(), "group.id": f"dlq-count-{uuid.uuid4()}"})
    try:
        _low, high = consumer.get_watermark_offsets(TopicPartition(DEAD_LETTERS.name, 0), timeout=10)
    finally:
        consumer.close()
    return int(high)


def _db_now() -> datetime:
    value = query("orders", "SELECT now() AS t")[0]._mapping["t"]
    assert isinstance(value, datetime)
    return value


def order_body(index: int, rng: random.Random) -> dict[str, Any]:
    """The stream's mix: 80% good card, 10% declined card, 10% out of stock."""
    kind = index % 10
    if kind == 9:
        items = [{"sku": SHORT_SKU, "quantity": 100}]
    else:
        items = [{"sku": sku, "quantity": rng.randint(1, 2)} for sku in rng.sample(STREAM_SKUS, rng.randint(1, 2))]
    method = "pm_card_chargeCustomerFail" if kind == 8 else "pm_card_visa"
    return {"customer_id": f"fault-{index}", "items": items, "payment_method": method}


def expected_statuses(orders: list[Any]) -> dict[str, str]:
    """What each order of the stream must end as, from its place in the mix (``order_body``): the declined card
    and the out-of-stock order REJECTED, every other APPROVED (``restock`` leaves plenty for them)."""
    return {
        o.order_id: "REJECTED" if int(o.customer_id.removeprefix("fault-")) % 10 in (8, 9) else "APPROVED"
        for o in orders
    }


Place = Callable[[int, dict[str, Any]], httpx.Response]
"""How the stream places its ``index``-th order (``body``): through the gateway, as someone."""


def as_customers() -> Place:
    """Each order placed by its own customer through the local stack's gateway, once (a refusal is not retried:
    a service that is down answers 503 through the gateway, or nothing in time)."""
    tokens = LocalTokens()
    client = httpx.Client(base_url=str(api("gateway").base_url), timeout=5.0)

    def place(_index: int, body: dict[str, Any]) -> httpx.Response:
        token = tokens.issue(body["customer_id"], "customer").access_token
        return client.post("/api/orders", json=body, headers={"Authorization": f"Bearer {token}"})

    return place


def stream(run: Run, count: int, *, seed: int = 7, pause_s: float = 0.1, place: Place | None = None) -> None:
    """Place ``count`` orders of ``order_body``'s mix one after another (``as_customers`` unless ``place`` says
    otherwise); refusals and errors are counted in ``run.refused``."""
    rng = random.Random(seed)
    place = place or as_customers()
    for index in range(count):
        body = order_body(index, rng)
        try:
            response = place(index, body)
            if response.status_code == 202:
                run.accepted.append(response.json()["order_id"])
            else:
                run.refused[str(response.status_code)] += 1
        except httpx.HTTPError as error:
            run.refused[type(error).__name__] += 1
        with run.progress:
            run.placed += 1
            run.progress.notify_all()
        time.sleep(pause_s)  # pacing of the offered load, not a wait for a condition


def during(
    run: Run,
    count: int,
    fault: Callable[[Run], None],
    *,
    seed: int = 7,
    pause_s: float = 0.1,
    place: Place | None = None,
    fault_timeout_s: float = 300.0,
) -> None:
    """Run the order stream (an order every ``pause_s`` s or so) and the fault side by side; re-raise the fault's
    error, if any, and fail if the fault has not ended ``fault_timeout_s`` after the stream."""
    errors: list[BaseException] = []

    def inject() -> None:
        try:
            fault(run)
        except BaseException as error:
            errors.append(error)

    injector = threading.Thread(target=inject, name="fault")
    injector.start()
    stream(run, count, seed=seed, pause_s=pause_s, place=place)
    injector.join(fault_timeout_s)
    if errors:
        raise errors[0]
    assert not injector.is_alive(), f"the fault had not ended {fault_timeout_s:.0f} s after the order stream"


def _orders_of(run: Run) -> list[Any]:
    return query(
        "orders",
        "SELECT order_id, customer_id, status, reason FROM orders"
        " WHERE created_at >= :t AND customer_id LIKE 'fault-%'",
        t=run.started_at,
    )


def settle(run: Run, timeout_s: float = SETTLE_S) -> list[Any]:
    """Wait until every order of the run is decided and its saga finished; return the orders."""

    def all_done() -> list[Any] | None:
        orders = _orders_of(run)
        if any(o.status == "PENDING" for o in orders):
            return None
        ids = [o.order_id for o in orders]
        open_sagas = query(
            "coordinator",
            "SELECT count(*) AS n FROM sagas WHERE order_id = ANY(:ids) AND state NOT IN ('COMPLETED', 'COMPENSATED')",
            ids=ids,
        )[0].n
        return orders if open_sagas == 0 and _outboxes_empty() else None

    return wait_for(all_done, timeout_s=timeout_s, what="every order of the run to settle")


def _outbox_rows() -> dict[str, list[str]]:
    """What each service's outbox still holds: the topic and creation time of every row (empty lists once drained)."""
    return {
        s: [f"{r.topic}@{r.created_at:%H:%M:%S.%f}" for r in query(s, "SELECT topic, created_at FROM outbox")]
        for s in ("catalog", "orders", "payment", "coordinator")
    }


def _outboxes_empty() -> bool:
    return not any(_outbox_rows().values())


def check_invariants(run: Run, orders: list[Any], *, dead_letters_sent: int | None = 0) -> dict[str, int]:
    """Assert every invariant of the reliability guarantees; returns counts by order status.

    ``dead_letters_sent``: how many messages the scenario itself made unusable; no other may be dead-lettered
    (None: the scenario accounts for every dead letter itself).
    """
    ids = [o.order_id for o in orders]
    assert set(run.accepted) <= set(ids), "an order answered 202 is missing"
    status = {o.order_id: o.status for o in orders}
    assert set(status.values()) <= {"APPROVED", "REJECTED"}

    sagas = query("coordinator", "SELECT order_id, state FROM sagas WHERE order_id = ANY(:ids)", ids=ids)
    assert sorted(s.order_id for s in sagas) == sorted(ids), "every order has exactly one saga"
    expected = {"APPROVED": "COMPLETED", "REJECTED": "COMPENSATED"}
    wrong = [(s.order_id, status[s.order_id], s.state) for s in sagas if expected[status[s.order_id]] != s.state]
    assert not wrong, f"order and saga disagree: {wrong[:5]}"

    approved = [i for i in ids if status[i] == "APPROVED"]
    taken: dict[str, int] = defaultdict(int)
    for line in query("orders", "SELECT sku, quantity FROM order_lines WHERE order_id = ANY(:ids)", ids=approved):
        taken[line.sku] += line.quantity
    now = stock_levels()
    for sku, before in run.stock_before.items():
        assert now[sku] == before - taken[sku], f"{sku}: {before} - {taken[sku]} approved != {now[sku]} in stock"
        assert now[sku] >= 0

    intents = payment_intents_by_order(set(ids))
    for order_id in ids:
        succeeded = [pi for pi in intents.get(order_id, []) if pi.status == "succeeded"]
        assert len(succeeded) <= 1, f"order {order_id} was charged {len(succeeded)} times"
        if status[order_id] == "APPROVED":
            assert len(succeeded) == 1, f"approved order {order_id} has no charge"
        elif succeeded:
            refunded = len(refunds(succeeded[0].id))
            assert refunded == 1, f"rejected order {order_id} was charged and refunded {refunded} times"

    replies = query(
        "coordinator",
        "SELECT h.saga_id, h.action, count(*) AS n FROM saga_history h JOIN sagas s USING (saga_id) "
        "WHERE s.order_id = ANY(:ids) AND h.kind = 'reply_received' GROUP BY h.saga_id, h.action HAVING count(*) > 1",
        ids=ids,
    )
    assert not replies, f"a reply was applied twice: {replies[:3]}"
    # Drained, not empty at this instant: a redelivered command's recorded reply is sent again (and then removed).
    wait_for(_outboxes_empty, timeout_s=10, what=f"every outbox to drain (held: {_outbox_rows()})")
    if dead_letters_sent is None:
        return dict(Counter(status.values()))
    wait_for(lambda: dead_letters() - run.dead_letters_before >= dead_letters_sent, what="the scenario's dead letters")
    unexpected = dead_letters() - run.dead_letters_before - dead_letters_sent
    assert unexpected == 0, f"{unexpected} messages were dead-lettered that the scenario did not make unusable"
    return dict(Counter(status.values()))
