"""``concurrently_by_order``: a batch's orders side by side on one event loop, each order's messages in turn,
replies in the batch's order and trace contexts, at most so many orders at once, with fake handlers and fake
units of work."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from opentelemetry import context as otel_context

from contracts.base import Message
from contracts.envelope import Envelope
from contracts.payment import PaymentDeclined, PaymentRefunded, PaymentSucceeded, RefundPayment
from contracts.topics import PAYMENT_COMMANDS, PRODUCT_EVENTS, SAGA_REPLIES
from payment.domain.gateway import GatewayUnavailable
from payment.entrypoints.concurrency import AsyncHandler, AsyncRoutes, concurrently_by_order
from payment.entrypoints.messages import HANDLERS
from plumbing.errors import RetryLater
from plumbing.routing import Batched, single
from tests.unit.fakes import FakeMessages, command
from tests.unit.payment.fakes import DECLINING_CARD, FakePaymentUnitOfWork, Together, charge

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


def message(order_id: str, n: int) -> Envelope[RefundPayment]:
    """The ``n``th message of an order (its idempotency key says which)."""
    return command(RefundPayment(order_id=order_id, idempotency_key=f"{order_id}{n}"))


def answer(uow: FakeMessages, envelope: Envelope[RefundPayment]) -> None:
    """Reply with the message's idempotency key as the refund id, so each reply says whose it is."""
    uow.reply(envelope, PaymentRefunded(order_id=envelope.payload.order_id, refund_id=envelope.payload.idempotency_key))


def batched(handler: AsyncHandler[FakeUnit], max_in_flight: int = 500) -> Batched[FakeUnit]:
    routes: AsyncRoutes[FakeUnit] = {TOPIC: {"RefundPayment": handler}}
    wrapped = concurrently_by_order(routes, max_in_flight=max_in_flight)[TOPIC]["RefundPayment"]
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


def test_replies_come_in_the_batchs_order_though_the_first_order_finishes_last() -> None:
    finished: list[str] = []
    others_done = asyncio.Event()

    async def handler(uow: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        if envelope.payload.order_id == "a":
            await asyncio.wait_for(others_done.wait(), 5)
        answer(uow, envelope)
        finished.append(envelope.payload.idempotency_key)
        if sum(not key.startswith("a") for key in finished) == 3:
            others_done.set()

    uow = FakeUnit()
    batch = [message("a", 1), message("b", 1), message("a", 2), message("c", 1), message("b", 2)]
    batched(handler).many(uow, batch, untraced)
    assert finished[-2:] == ["a1", "a2"]
    assert answered(uow) == ["a1", "b1", "a2", "c1", "b2"]
    assert [s.envelope.causation_id for s in uow.sent] == [m.message_id for m in batch]


def test_an_orders_messages_run_in_turn_while_other_orders_run_beside_them() -> None:
    side_by_side = Together(2)  # times out unless orders a and b run at the same time
    running: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}
    seen: list[str] = []

    async def handler(uow: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        order, key = envelope.payload.order_id, envelope.payload.idempotency_key
        running[order] += 1
        most[order] = max(most[order], running[order])
        seen.append(key)
        if key in ("a1", "b1"):
            await side_by_side.wait()
        await asyncio.sleep(0)  # room for a second message of the same order to overlap, were it allowed to
        running[order] -= 1
        answer(uow, envelope)

    uow = FakeUnit()
    batch = [message("a", 1), message("a", 2), message("b", 1), message("a", 3), message("b", 2)]
    batched(handler).many(uow, batch, untraced)
    assert most == {"a": 1, "b": 1}
    assert [key for key in seen if key.startswith("a")] == ["a1", "a2", "a3"]
    assert [key for key in seen if key.startswith("b")] == ["b1", "b2"]
    assert answered(uow) == ["a1", "a2", "b1", "a3", "b2"]


def test_each_message_is_sent_in_the_trace_context_of_the_message_that_caused_it() -> None:
    async def handler(uow: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        uow.publish(PRODUCT_EVENTS, envelope, key=envelope.payload.order_id)
        answer(uow, envelope)

    uow = FakeUnit()
    batch = [message("a", 1), message("b", 1), message("a", 2)]
    batched(handler).many(uow, batch, traced)
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


def test_a_failure_sends_nothing_and_wins_over_a_retry_later() -> None:
    async def handler(uow: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        answer(uow, envelope)
        if envelope.payload.order_id == "a":
            raise RetryLater("stripe unavailable")
        if envelope.payload.order_id == "b":
            raise ValueError("broken")

    uow = FakeUnit()
    with pytest.raises(ValueError, match=r"^broken$"):
        batched(handler).many(uow, [message("a", 1), message("b", 1), message("c", 1)], untraced)
    assert uow.sent == []


def test_only_retry_laters_retry_the_batch_and_send_nothing() -> None:
    async def handler(uow: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        answer(uow, envelope)
        if envelope.payload.order_id != "b":
            raise RetryLater(envelope.payload.order_id)

    uow = FakeUnit()
    with pytest.raises(RetryLater, match=r"^a$"):
        batched(handler).many(uow, [message("a", 1), message("b", 1), message("c", 1)], untraced)
    assert uow.sent == []


def test_a_failure_stops_the_rest_of_its_order() -> None:
    ran: list[str] = []

    async def handler(uow: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        ran.append(envelope.payload.idempotency_key)
        raise RetryLater("down")

    with pytest.raises(RetryLater):
        batched(handler).many(FakeUnit(), [message("a", 1), message("a", 2)], untraced)
    assert ran == ["a1"]


def test_handlers_get_the_real_ports_but_not_the_batchs_connection() -> None:
    uow = FakeUnit()
    ports: list[object] = []

    async def uses_a_port(unit: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        ports.append(unit.port)
        answer(unit, envelope)

    batched(uses_a_port).many(uow, [message("a", 1), message("b", 1)], untraced)
    assert ports == [uow.port, uow.port]

    async def uses_the_connection(unit: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        unit.conn.execute()  # type: ignore[attr-defined]

    with pytest.raises(AttributeError, match="'conn' of the batch's unit of work is for the consumer's thread only"):
        batched(uses_the_connection).many(FakeUnit(), [message("a", 1)], untraced)


def test_every_topics_messages_share_one_batched_handler_that_also_applies_one() -> None:
    wrapped = concurrently_by_order(HANDLERS)
    assert {topic: set(types) for topic, types in wrapped.items()} == {TOPIC: {"ChargePayment", "RefundPayment"}}
    charges, refunds = wrapped[TOPIC]["ChargePayment"], wrapped[TOPIC]["RefundPayment"]
    assert isinstance(charges, Batched) and charges is refunds
    uow = FakePaymentUnitOfWork()
    single(charges)(uow, command(charge("o-1")))
    assert uow.replies == [PaymentSucceeded(order_id="o-1", payment_intent_id="pi_1", amount_cents=4499)]


def test_payments_batch_charges_each_order_once_and_answers_in_its_order() -> None:
    handler = concurrently_by_order(HANDLERS)[TOPIC]["ChargePayment"]
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


def test_payments_gateway_outage_retries_the_batch_later() -> None:
    handler = concurrently_by_order(HANDLERS)[TOPIC]["ChargePayment"]
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


def test_a_batchs_charges_all_wait_on_the_gateway_together_on_one_thread() -> None:
    handler = concurrently_by_order(HANDLERS)[TOPIC]["ChargePayment"]
    assert isinstance(handler, Batched)
    uow = FakePaymentUnitOfWork()
    threads: set[str] = set()
    real_create = uow.gateway.create_intent

    async def noting_the_thread(payment: Any) -> str:
        threads.add(threading.current_thread().name)
        return await real_create(payment)

    uow.gateway.create_intent = noting_the_thread  # type: ignore[method-assign]
    uow.gateway.answer_together = Together(500)  # no answer until all 500 creates wait at once: one latency in all
    batch = [command(charge(f"o-{n}")) for n in range(500)]
    handler.many(uow, batch, untraced)
    assert uow.gateway.most_in_flight == 500
    assert threads == {"payment-loop"}  # not one thread per charge, and not the consumer's
    assert len(uow.gateway.charges) == 500 == len(set(uow.gateway.charges))
    assert [type(r) for r in uow.replies] == [PaymentSucceeded] * 500
    assert [s.envelope.causation_id for s in uow.sent] == [c.message_id for c in batch]


def test_no_more_orders_than_the_limit_are_in_flight_at_once() -> None:
    handler = concurrently_by_order(HANDLERS, max_in_flight=3)[TOPIC]["ChargePayment"]
    assert isinstance(handler, Batched)
    uow = FakePaymentUnitOfWork()
    uow.gateway.answer_together = Together(3)  # were there no limit, all nine would be waiting at once
    handler.many(uow, [command(charge(f"o-{n}")) for n in range(9)], untraced)
    assert uow.gateway.most_in_flight == 3
    assert len(uow.gateway.charges) == 9


def test_a_cancelled_order_retries_the_batch_and_sends_nothing() -> None:
    async def handler(uow: FakeUnit, envelope: Envelope[RefundPayment]) -> None:
        answer(uow, envelope)
        if envelope.payload.order_id == "b":
            raise asyncio.CancelledError

    uow = FakeUnit()
    with pytest.raises(RetryLater, match=r"^an order's task ended with CancelledError$") as raised:
        batched(handler).many(uow, [message("a", 1), message("b", 1)], untraced)
    assert isinstance(raised.value.__cause__, asyncio.CancelledError)
    assert uow.sent == []
