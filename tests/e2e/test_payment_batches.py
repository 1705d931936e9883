"""Payment applies a batch's commands concurrently, one order per worker, against localstripe and its real
database: each order is charged once even when its command comes twice in one batch, and the replies
come out in the batch's order."""

from __future__ import annotations

import contextlib
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec
import sqlalchemy as sa

from contracts.codecs import codec_for
from contracts.envelope import Envelope
from contracts.payment import PaymentDeclined, PaymentSucceeded
from contracts.topics import PAYMENT_COMMANDS, SAGA_REPLIES
from coordinator.sagas.create_order import charge_payment
from payment.adapters.payment_store import PaymentStore
from payment.adapters.stripe_gateway import StripeGateway
from payment.adapters.tables import outbox as payment_outbox
from payment.adapters.unit_of_work import unit_factory
from payment.entrypoints.concurrency import concurrently_by_order
from payment.entrypoints.messages import ROUTES
from payment.settings import StripeSettings
from plumbing.routing import Batched
from tests.e2e.test_consumer_contracts import _command, _data
from tests.support import database, payment_intents, rolled_back


def _resent(command: Envelope[Any]) -> Envelope[Any]:
    """The same command again under a new message id (as an operator's replay of a stuck step sends it)."""
    return msgspec.structs.replace(command, message_id=uuid.uuid4())


def test_a_batch_charges_each_order_once_and_answers_in_its_order() -> None:
    settings = StripeSettings.from_env()
    unit = unit_factory(PaymentStore(database("payment")), StripeGateway(settings.api_key, settings.api_base))
    routes = concurrently_by_order(ROUTES, ThreadPoolExecutor(8, "stripe"))
    handler = routes[PAYMENT_COMMANDS.name]["ChargePayment"]
    assert isinstance(handler, Batched)
    first, second = _command(charge_payment, _data()), _command(charge_payment, _data())
    declined = _command(charge_payment, _data(method="pm_card_chargeCustomerFail"))
    batch = [first, second, _resent(first), declined, _resent(second)]

    with rolled_back("payment", unit, payment_outbox) as uow:
        handler.many(uow, batch, lambda _envelope: contextlib.nullcontext())
        uow.flush()
        query = sa.text("SELECT value FROM outbox WHERE topic = :t ORDER BY id")
        rows = uow.conn.execute(query, {"t": SAGA_REPLIES.name}).scalars().all()
        replies = [codec_for(SAGA_REPLIES.name).decode(v) for v in rows]

    assert [r.causation_id for r in replies] == [c.message_id for c in batch]
    assert [type(r.payload) for r in replies] == [
        PaymentSucceeded,
        PaymentSucceeded,
        PaymentSucceeded,
        PaymentDeclined,
        PaymentSucceeded,
    ]
    for command in (first, second):
        (intent,) = payment_intents(command.payload.order_id)  # one PaymentIntent, despite two commands
        assert intent.status == "succeeded"
        same = {r.payload.payment_intent_id for r in replies if r.payload.order_id == command.payload.order_id}
        assert same == {intent.id}
