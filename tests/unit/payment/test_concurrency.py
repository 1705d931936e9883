"""``concurrently_by_order``: a batch's orders side by side, each order's messages in turn, replies in the
batch's order and trace contexts, with fake handlers and fake units of work."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec
import pytest
from opentelemetry import context as otel_context

from contracts.base import Message
from contracts.envelope import Envelope
from contracts.payment import PaymentDeclined, PaymentRefunded, PaymentSucceeded, RefundPayment
from contracts.topics import PAYMENT_COMMANDS, PRODUCT_EVENTS, SAGA_REPLIES
from payment.domain.gateway import GatewayUnavailable
from payment.entrypoints.concurrency import concurrently_by_order
from payment.entrypoints.messages import ROUTES
from plumbing.errors import RetryLater
from plumbing.routing import Batched, Handler, Routes, single
from tests.unit.fakes import FakeMessages, command
from tests.unit.payment.fakes import DECLINING_CARD, FakePaymentUnitOfWork, charge

TOPIC = PAYMENT_COMMANDS.name
TRACED = "test.command"
"""A trace-context key the tests' scope sets to the message's id."""


class FakeUnit(FakeMessages):
    """A unit of work with a port and a connection; notes the trace context each reply was sent in."""

    def __init__(self) -> None:
        super().__init__()
        self.port = object()
        self.conn = object()
        self.replied_in: list[object] = []

    def reply(self, command: Envelope[Any], payload: Message) -> Envelope[Any]:
        self.replied_in.append(otel_context.get_value(TRACED))
        return super().reply(command, payload)


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4, "test") as executor:
        yield executor


def message(order_id: str, n: int) -> Envelope[RefundPayment]:
    """The ``n``th message of an order (its idempotency key says which)."""
    return command(RefundPayment(order_id=order_id, idempotency_key=f"{order_id}{n}"))


def answer(uow: FakeMessages, envelope: Envelope[RefundPayment]) -> None:
    """Reply with the message's idempotency key as the refund id, so each reply says whose it is."""
    uow.reply(envelope, PaymentRefunded(order_id=envelope.payload.order_id, refund_id=envelope.payload.idempotency_key))


def batched(handler: Handler[FakeUnit], pool: ThreadPoolExecutor) -> Batched[FakeUnit]:
    routes: Routes[FakeUnit] = {TOPIC: {"RefundPayment": handler}}
    wrapped = concurrently_by_order(routes, pool)[TOPIC]["RefundPayment"]
    assert isinstance(wrapped, Batched)
    return wrapped


def untraced(_envelope: Envelope[Any]) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


@contextlib.contextmanager
def traced(envelope: Envelope[Any]) -> Iterator[None]:
    token = otel_context.attach(otel_context.set_value(TRACED, envelope.message_id))
    try:
        yield
    finally:
        otel_context.detach(token)


def answered(uow: FakeMessages) -> list[str | None]:
    return [reply.refund_id for reply in uow.replies]


def test_replies_come_in_the_batchs_order_though_the_first_order_finishes_last(pool: ThreadPoolExecutor) -> None:
    finished: list[str] = []
    others_done = threading.Event()
    lock = threading.Lock()

    def handler(uow: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        if envelope.payload.order_id == "a":
            assert others_done.wait(5)
        answer(uow, envelope)
        with lock:
            finished.append(envelope.payload.idempotency_key)
            if sum(not key.startswith("a") for key in finished) == 3:
                others_done.set()

    uow = FakeUnit()
    batch = [message("a", 1), message("b", 1), message("a", 2), message("c", 1), message("b", 2)]
    batched(handler, pool).many(uow, batch, untraced)
    assert finished[-2:] == ["a1", "a2"]
    assert answered(uow) == ["a1", "b1", "a2", "c1", "b2"]
    assert [s.envelope.causation_id for s in uow.sent] == [m.message_id for m in batch]


def test_an_orders_messages_run_in_turn_while_other_orders_run_beside_them(pool: ThreadPoolExecutor) -> None:
    side_by_side = threading.Barrier(2, timeout=5)  # broken unless orders a and b run at the same time
    running: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}
    seen: list[str] = []
    lock = threading.Lock()

    def handler(uow: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        order, key = envelope.payload.order_id, envelope.payload.idempotency_key
        with lock:
            running[order] += 1
            most[order] = max(most[order], running[order])
            seen.append(key)
        if key in ("a1", "b1"):
            side_by_side.wait()
        time.sleep(0.01)  # room for a second message of the same order to overlap, were it allowed to
        with lock:
            running[order] -= 1
        answer(uow, envelope)

    uow = FakeUnit()
    batch = [message("a", 1), message("a", 2), message("b", 1), message("a", 3), message("b", 2)]
    batched(handler, pool).many(uow, batch, untraced)
    assert most == {"a": 1, "b": 1}
    assert [key for key in seen if key.startswith("a")] == ["a1", "a2", "a3"]
    assert [key for key in seen if key.startswith("b")] == ["b1", "b2"]
    assert answered(uow) == ["a1", "a2", "b1", "a3", "b2"]


def test_each_message_is_sent_in_the_trace_context_of_the_message_that_caused_it(pool: ThreadPoolExecutor) -> None:
    def handler(uow: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        uow.publish(PRODUCT_EVENTS, envelope, key=envelope.payload.order_id)
        answer(uow, envelope)

    uow = FakeUnit()
    batch = [message("a", 1), message("b", 1), message("a", 2)]
    batched(handler, pool).many(uow, batch, traced)
    assert uow.replied_in == [m.message_id for m in batch]
    assert [(s.topic, s.key) for s in uow.sent] == [
        (PRODUCT_EVENTS.name, "a"),
        (SAGA_REPLIES.name, str(batch[0].saga_id)),
        (PRODUCT_EVENTS.name, "b"),
        (SAGA_REPLIES.name, str(batch[1].saga_id)),
        (PRODUCT_EVENTS.name, "a"),
        (SAGA_REPLIES.name, str(batch[2].saga_id)),
    ]
    assert otel_context.get_value(TRACED) is None  # nothing left attached on the consumer's thread


def test_a_failure_sends_nothing_and_wins_over_a_retry_later(pool: ThreadPoolExecutor) -> None:
    def handler(uow: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        answer(uow, envelope)
        if envelope.payload.order_id == "a":
            raise RetryLater("stripe unavailable")
        if envelope.payload.order_id == "b":
            raise ValueError("broken")

    uow = FakeUnit()
    with pytest.raises(ValueError, match=r"^broken$"):
        batched(handler, pool).many(uow, [message("a", 1), message("b", 1), message("c", 1)], untraced)
    assert uow.sent == []


def test_only_retry_laters_retry_the_batch_and_send_nothing(pool: ThreadPoolExecutor) -> None:
    def handler(uow: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        answer(uow, envelope)
        if envelope.payload.order_id != "b":
            raise RetryLater(envelope.payload.order_id)

    uow = FakeUnit()
    with pytest.raises(RetryLater, match=r"^a$"):
        batched(handler, pool).many(uow, [message("a", 1), message("b", 1), message("c", 1)], untraced)
    assert uow.sent == []


def test_a_failure_stops_the_rest_of_its_order(pool: ThreadPoolExecutor) -> None:
    ran: list[str] = []

    def handler(uow: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        ran.append(envelope.payload.idempotency_key)
        raise RetryLater("down")

    with pytest.raises(RetryLater):
        batched(handler, pool).many(FakeUnit(), [message("a", 1), message("a", 2)], untraced)
    assert ran == ["a1"]


def test_handlers_get_the_real_ports_but_not_the_batchs_connection(pool: ThreadPoolExecutor) -> None:
    uow = FakeUnit()
    ports: list[object] = []

    def uses_a_port(unit: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        ports.append(unit.port)
        answer(unit, envelope)

    batched(uses_a_port, pool).many(uow, [message("a", 1), message("b", 1)], untraced)
    assert ports == [uow.port, uow.port]

    def uses_the_connection(unit: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        unit.conn.execute()  # type: ignore[attr-defined]

    with pytest.raises(AttributeError, match="'conn' of the batch's unit of work is for the consumer's thread only"):
        batched(uses_the_connection, pool).many(FakeUnit(), [message("a", 1)], untraced)


def test_every_topics_messages_share_one_batched_handler_that_also_applies_one(pool: ThreadPoolExecutor) -> None:
    wrapped = concurrently_by_order(ROUTES, pool)
    assert {topic: set(types) for topic, types in wrapped.items()} == {TOPIC: {"ChargePayment", "RefundPayment"}}
    charges, refunds = wrapped[TOPIC]["ChargePayment"], wrapped[TOPIC]["RefundPayment"]
    assert isinstance(charges, Batched) and charges is refunds
    uow = FakePaymentUnitOfWork()
    single(charges)(uow, command(charge("o-1")))
    assert uow.replies == [PaymentSucceeded(order_id="o-1", payment_intent_id="pi_1", amount_cents=4499)]


def test_payments_batch_charges_each_order_once_and_answers_in_its_order(pool: ThreadPoolExecutor) -> None:
    handler = concurrently_by_order(ROUTES, pool)[TOPIC]["ChargePayment"]
    assert isinstance(handler, Batched)
    first, second = command(charge("o-1")), command(charge("o-2"))
    declined = command(charge("o-3", method=DECLINING_CARD))
    batch = [first, second, resent(first), declined, resent(second)]
    uow = FakePaymentUnitOfWork()
    handler.many(uow, batch, untraced)
    assert [s.envelope.causation_id for s in uow.sent] == [c.message_id for c in batch]
    assert [type(r) for r in uow.replies] == [
        PaymentSucceeded,
        PaymentSucceeded,
        PaymentSucceeded,
        PaymentDeclined,
        PaymentSucceeded,
    ]
    intents = {r.order_id: r.payment_intent_id for r in uow.replies if isinstance(r, PaymentSucceeded)}
    assert sorted(uow.gateway.charges) == sorted(intents.values())  # one charge per order, despite two commands
    assert len(uow.gateway.intents) == 3


def test_payments_gateway_outage_retries_the_batch_later(pool: ThreadPoolExecutor) -> None:
    handler = concurrently_by_order(ROUTES, pool)[TOPIC]["ChargePayment"]
    assert isinstance(handler, Batched)
    uow = FakePaymentUnitOfWork()
    uow.gateway.fail_next = "confirm"
    with pytest.raises(RetryLater, match=r"^confirm$") as raised:
        handler.many(uow, [command(charge("o-1"))], untraced)
    assert isinstance(raised.value.__cause__, GatewayUnavailable)
    assert uow.sent == []


def resent(envelope: Envelope[Any]) -> Envelope[Any]:
    """The same command again under a new message id."""
    return msgspec.structs.replace(envelope, message_id=uuid.uuid4())
