"""Payment applies a batch's commands concurrently, one order per task on its event loop, against localstripe
and its real database: each order is charged once even when its command comes twice in one batch, and the
replies come out in the batch's order."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import sqlalchemy as sa

from contracts.codecs import codec_for
from contracts.envelope import Envelope
from contracts.payment import PaymentDeclined, PaymentSucceeded
from contracts.topics import PAYMENT_COMMANDS, SAGA_REPLIES
from coordinator.sagas.create_order import charge_payment
from infra import localstripe
from payment.adapters.payment_store import PaymentStore
from payment.adapters.stripe_gateway import StripeGateway
from payment.adapters.tables import outbox as payment_outbox
from payment.adapters.unit_of_work import unit_factory
from payment.domain.payments import Payment
from payment.entrypoints.concurrency import concurrently_by_order
from payment.entrypoints.event_loop import PAYMENT_LOOP
from payment.entrypoints.messages import HANDLERS
from payment.settings import EMULATOR_KEY, StripeSettings
from plumbing.routing import Batched
from tests.e2e.test_consumer_contracts import _command, _data
from tests.support import database, payment_intents, rolled_back


def _emulator() -> StripeGateway:
    """The Stripe gateway on the local stack's emulator."""
    return StripeGateway(EMULATOR_KEY, localstripe.api_base())


def _resent(command: Envelope[Any]) -> Envelope[Any]:
    """The same command again under a new message id (as an operator's replay of a stuck step sends it)."""
    return msgspec.structs.replace(command, message_id=uuid.uuid4())


def test_a_batch_charges_each_order_once_and_answers_in_its_order() -> None:
    settings = StripeSettings(EMULATOR_KEY, localstripe.api_base())
    unit = unit_factory(PaymentStore(database("payment")), StripeGateway(settings.api_key, settings.api_base))
    routes = concurrently_by_order(HANDLERS)
    handler = routes[PAYMENT_COMMANDS.name]["ChargePayment"]
    assert isinstance(handler, Batched)
    first, second = _command(charge_payment, _data()), _command(charge_payment, _data())
    declined = _command(charge_payment, _data(method="pm_card_chargeCustomerFail"))
    batch = [first, second, _resent(first), declined, _resent(second)]

    with rolled_back("payment", unit, payment_outbox) as uow:
        handler.many(uow, batch, lambda _envelope: contextlib.nullcontext())
        uow.flush()
        # Only this transaction's rows: other tests' replies may still wait in the outbox for the relay's scan.
        query = sa.text("SELECT value FROM outbox WHERE topic = :t AND id = ANY(:ids) ORDER BY id")
        rows = uow.conn.execute(query, {"t": SAGA_REPLIES.name, "ids": [r.id for r in uow.written]}).scalars().all()
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


def test_the_stripe_client_keeps_one_connection_for_calls_one_after_another() -> None:
    gateway = _emulator()
    port = int(urlsplit(localstripe.api_base()).port or 0)
    before = _connections_to(port)

    async def three_charges() -> None:
        for _ in range(3):
            payment = Payment(str(uuid.uuid4()), str(uuid.uuid4()), 4499, "usd", "pm_card_visa")
            assert (await gateway.confirm(await gateway.create_intent(payment), payment)).succeeded

    PAYMENT_LOOP.run(three_charges())
    assert len(_connections_to(port) - before) == 1  # six calls, one TCP connection kept open


def _connections_to(port: int) -> set[str]:
    """The socket inodes of this process's established TCP connections to ``port`` on 127.0.0.1."""
    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # e.g. the fd that listed the directory, closed since
            mine.add(os.readlink(f"/proc/self/fd/{fd}"))
    found = set()
    for line in Path("/proc/self/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port, state, inode = int(fields[2].split(":")[1], 16), fields[3], fields[9]
        if remote_port == port and state == "01" and f"socket:[{inode}]" in mine:  # 01: ESTABLISHED
            found.add(inode)
    return found
