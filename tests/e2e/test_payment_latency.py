"""Payment keeps a batch's charges in flight together: with a gateway that answers after a latency, against
its real database and as the running service, each order is charged exactly once, the charges overlap, and
their progress costs a few commits per batch, not three per charge."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa

from contracts.codecs import codec_for
from contracts.payment import PaymentSucceeded
from contracts.topics import PAYMENT_COMMANDS, SAGA_REPLIES
from coordinator.sagas.create_order import charge_payment
from infra import services
from payment.adapters.payment_store import PaymentStore
from payment.adapters.simulated_gateway import SimulatedGateway
from payment.adapters.tables import outbox as payment_outbox
from payment.adapters.unit_of_work import unit_factory
from payment.entrypoints.concurrency import concurrently_by_order
from payment.entrypoints.messages import HANDLERS
from plumbing.routing import Batched
from tests.e2e.test_consumer_contracts import _command, _data
from tests.restocking import set_available
from tests.support import database, place_order, query, rolled_back, settled_saga
from tests.unit.payment.fakes import Together


@pytest.mark.parametrize("orders", [10, 60])
def test_a_batchs_charges_wait_together_and_record_their_progress_in_three_commits(orders: int) -> None:
    engine = database("payment")
    commits: list[object] = []
    sa.event.listen(engine, "commit", commits.append)
    together = Together(orders)  # each round of Stripe calls answers once all of the batch's calls wait
    gateway = SimulatedGateway(0.2, sleep=lambda _seconds: together.wait())
    handler = concurrently_by_order(HANDLERS)[PAYMENT_COMMANDS.name]["ChargePayment"]
    assert isinstance(handler, Batched)
    batch = [_command(charge_payment, _data()) for _ in range(orders)]

    with rolled_back("payment", unit_factory(PaymentStore(engine), gateway), payment_outbox) as uow:
        handler.many(uow, batch, lambda _envelope: contextlib.nullcontext())
        replies = [codec_for(SAGA_REPLIES.name).decode(uow.replies[c.message_id]["value"]) for c in batch]

    assert together.waiting == 2 * orders  # every create, then every confirm, in flight at the same time
    assert len(commits) == 3  # the batch's new payments, their intents, their outcomes: one commit each
    assert [type(r.payload) for r in replies] == [PaymentSucceeded] * orders
    ids = [c.payload.order_id for c in batch]
    rows = query("payment", "SELECT status, intent_id FROM payments WHERE order_id = ANY(:ids)", ids=ids)
    assert sorted(r.status for r in rows) == ["SUCCEEDED"] * orders
    assert len({r.intent_id for r in rows}) == orders


@pytest.fixture
def payment_with_latency() -> Iterator[None]:
    """The payment service restarted with the latency gateway (200 ms a call), then as it was."""
    instances = services.instances("payment")
    for k in instances:
        services.stop("payment", instance=k)
        services.start("payment", {"RV_PAYMENT_GATEWAY": "latency"}, instance=k)
    for k in instances:
        services.wait_healthy("payment", instance=k)
    try:
        yield
    finally:
        for k in instances:
            services.stop("payment", instance=k)
            services.start("payment", instance=k)
        for k in instances:
            services.wait_healthy("payment", instance=k)


@pytest.mark.usefixtures("payment_with_latency")
def test_the_service_charges_orders_side_by_side_each_exactly_once() -> None:
    set_available("SNES-SMW", 1000)
    order_ids = [place_order([("SNES-SMW", 1)], customer=f"customer-{i}").json()["order_id"] for i in range(30)]
    sagas = [settled_saga(order_id, timeout_s=60) for order_id in order_ids]
    assert {saga["state"] for saga in sagas} == {"COMPLETED"}
    rows = query(
        "payment",
        "SELECT order_id, status, intent_id, created_at, updated_at FROM payments WHERE order_id = ANY(:ids)",
        ids=order_ids,
    )
    assert sorted(r.order_id for r in rows) == sorted(order_ids)  # one payment per order
    assert {r.status for r in rows} == {"SUCCEEDED"}
    assert len({r.intent_id for r in rows}) == 30 and all(r.intent_id.startswith("pi_simulated_") for r in rows)
    # Each charge took two gateway calls of 200 ms between its payment's creation and its outcome; run one at
    # a time those spans would not overlap.
    assert _most_at_once([(r.created_at, r.updated_at) for r in rows]) > 1


def _most_at_once(spans: list[tuple[datetime, datetime]]) -> int:
    """The largest number of spans open at the same instant."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = open_now = 0
    for _, step in edges:
        open_now += step
        most = max(most, open_now)
    return most
