"""Applying a batch's messages concurrently, one order per task on payment's event loop.

Stripe answers in hundreds of milliseconds: run in turn, a batch of payment commands would take the sum of
its orders' calls; run side by side, about the slowest order's. Side by side on an event loop rather than on
threads, so that hundreds of charges wait at once for the price of one thread (``RV_PAYMENT_MAX_IN_FLIGHT``
bounds them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias, TypeVar, cast

from opentelemetry.context import Context

from contracts.base import Message
from contracts.envelope import Envelope
from contracts.topics import Topic
from payment.entrypoints.event_loop import PAYMENT_LOOP, EventLoopThread
from plumbing.errors import RetryLater
from plumbing.routing import Batched, Handler, Routes, Scope
from plumbing.tracing import captured, within
from plumbing.unit_of_work import Messages, reply_to

U = TypeVar("U", bound=Messages)

AsyncHandler: TypeAlias = Callable[[U, Envelope[Any]], Awaitable[None]]
"""Applies one message through the service's unit of work; a coroutine, so that waiting costs no thread."""
AsyncRoutes: TypeAlias = Mapping[str, Mapping[str, AsyncHandler[U]]]
"""topic name -> message type -> coroutine handler"""

DEFAULT_MAX_IN_FLIGHT = 500
"""The consumer's default batch size: a whole batch of charges waits on Stripe at once."""

Send = Callable[[Messages], object]
"""A recorded ``publish`` or ``reply``, to make on the real unit of work."""

_CONSUMER_THREAD_ONLY = frozenset({"conn", "flush", "discard", "dead_letter", "republish", "written"})
"""The batch's connection and outbox: used by the consumer's thread only (a connection is not thread-safe)."""


def concurrently_by_order(
    routes: AsyncRoutes[U], *, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT, loop: EventLoopThread = PAYMENT_LOOP
) -> Routes[U]:
    """``routes`` with each topic's handlers made into one ``Batched`` handler running on ``loop``.

    A batch's messages are grouped by order (``payload.order_id``), one task per order, at most
    ``max_in_flight`` orders at a time: an order's messages stay in sequence (a charge and its re-send must
    never run side by side, or both could create an intent) while different orders' overlap. Each handler
    gets a stand-in for the unit of work: its ``publish`` and ``reply`` are recorded, its other attributes
    (the ports) are the real ones. Once all are done, the recorded messages are sent on the consumer's
    thread, in the batch's order, each in the trace context it was sent from. So it suits only units of work
    whose ports do not use the batch's connection (payment's store commits on its own engine); the
    connection is out of the stand-in's reach.

    If a handler fails, nothing is sent and the first error that is not ``RetryLater`` is raised (the
    consumer isolates its message), else the first ``RetryLater`` (the consumer retries the batch); a task
    cancelled, or ended by any other ``BaseException``, counts as a ``RetryLater``.
    """
    limit = asyncio.Semaphore(max_in_flight)  # bound to ``loop`` when first used there
    concurrent: dict[str, dict[str, Handler[U] | Batched[U]]] = {}
    for topic, handlers in routes.items():
        concurrent[topic] = dict.fromkeys(handlers, _batched(handlers, loop, limit))
    return concurrent


def _batched(handlers: Mapping[str, AsyncHandler[U]], loop: EventLoopThread, limit: asyncio.Semaphore) -> Batched[U]:
    def many(uow: U, envelopes: list[Envelope[Any]], scope: Scope) -> None:
        by_order: dict[str, list[Envelope[Any]]] = {}
        for envelope in envelopes:
            by_order.setdefault(envelope.payload.order_id, []).append(envelope)

        async def one_order(messages: list[Envelope[Any]]) -> list[list[tuple[Context, Send]]]:
            recorded = []
            async with limit:
                for message in messages:
                    recording = _Recording(uow)
                    with scope(message):
                        await handlers[message.type](cast(U, recording), message)
                    recorded.append(recording.sent)
            return recorded

        async def every_order() -> list[list[list[tuple[Context, Send]]] | BaseException]:
            return await asyncio.gather(*map(one_order, by_order.values()), return_exceptions=True)

        outcomes = loop.run(every_order())
        errors = [_as_error(outcome) for outcome in outcomes if isinstance(outcome, BaseException)]
        if errors:
            # What was done stays done (payment's store commits at once): a retry resumes, calling Stripe no more.
            raise next((e for e in errors if not isinstance(e, RetryLater)), errors[0])
        sent = {
            id(message): recorded
            for messages, outcome in zip(by_order.values(), outcomes, strict=True)
            for message, recorded in zip(messages, cast(list[list[tuple[Context, Send]]], outcome), strict=True)
        }
        for envelope in envelopes:
            for context, send in sent[id(envelope)]:
                with within(context):  # the message joins the trace of the one that caused it
                    send(uow)

    return Batched(many)


def _as_error(outcome: BaseException) -> Exception:
    """An order's failure as the consumer handles it: a task cancelled (the loop is stopping) or any other
    ``BaseException`` retries the batch, rather than escape the consumer's ``except Exception`` and stop it."""
    if isinstance(outcome, Exception):
        return outcome
    retry = RetryLater(f"an order's task ended with {type(outcome).__name__}")
    retry.__cause__ = outcome
    return retry


class _Recording:
    """The unit of work as a handler sees it: messages recorded, the ports real, the connection out of reach."""

    def __init__(self, uow: Messages) -> None:
        self._uow = uow
        self.sent: list[tuple[Context, Send]] = []

    def publish(self, topic: Topic, envelope: Envelope[Any], *, key: str) -> None:
        self.sent.append((captured(), lambda uow: uow.publish(topic, envelope, key=key)))

    def reply(self, command: Envelope[Any], payload: Message) -> Envelope[Any]:
        self.sent.append((captured(), lambda uow: uow.reply(command, payload)))
        # The reply as it will be sent (the same ids; its occurred_at is set when it is).
        return reply_to(command, payload)

    def __getattr__(self, name: str) -> Any:
        if name in _CONSUMER_THREAD_ONLY:
            raise AttributeError(f"{name!r} of the batch's unit of work is for the consumer's thread only")
        return getattr(self._uow, name)
