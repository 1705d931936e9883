"""Payment's driver at its edges, against payment's real database: a stored command that no longer decodes is
dead-lettered as stored and its payment parked while the rest are driven; an intent id already stored is never
overwritten (a mixed deployment confirms one intent per payment); new payments are claimed first, through the
partial index of the payments that owe a reply."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import msgspec
import sqlalchemy as sa

from contracts.payment import PaymentSucceeded
from contracts.topics import DEAD_LETTERS, PAYMENT_COMMANDS
from coordinator.sagas.create_order import charge_payment
from payment import driving
from payment.adapters.payment_store import PaymentStore
from payment.adapters.tables import outbox as payment_outbox
from payment.adapters.unit_of_work import unit_factory
from payment.domain.payments import Payment
from tests.e2e.test_consumer_contracts import _command, _data
from tests.e2e.test_payment_driver import CountingGateway, driven, replies_to
from tests.support import database, query, rolled_back, wait_for

JUNK = b"\x92\xa3not\xc1 a command"
"""Bytes no codec reads (0xc1 is never valid msgpack)."""


def test_a_stored_command_that_does_not_decode_is_dead_lettered_as_stored_and_the_rest_are_driven() -> None:
    gateway = CountingGateway()
    bad, good = _command(charge_payment, _data()), _command(charge_payment, _data())
    with driven(gateway) as (units, driver, written):
        with units.begin() as uow:  # one transaction: no other driver sees the command before it is spoiled
            driving.accept(uow, [bad, good])
            spoil = "UPDATE payments SET charge_command = :junk, charge_trace = 'trace-kept' WHERE order_id = :o"
            uow.conn.execute(sa.text(spoil), {"junk": JUNK, "o": bad.payload.order_id})
        assert driver.claim() == 1
        wait_for(lambda: driver.in_flight == 0 or None, timeout_s=30, what="the good charge settled")
        assert [type(r) for r in replies_to(written, [bad, good])] == [PaymentSucceeded]
    [letter] = [row for row in written if row.topic == DEAD_LETTERS.name]
    assert letter.value == JUNK and letter.key is None
    assert (letter.headers["dlq.topic"], letter.headers["dlq.service"]) == (PAYMENT_COMMANDS.name, "payment")
    assert letter.headers["dlq.reason"].startswith("a stored command cannot be decoded (charge command: ")
    assert letter.headers["traceparent"] == "trace-kept"
    [row] = query(
        "payment",
        "SELECT status, charge_command, claimed_by, lease_until FROM payments WHERE order_id = :o",
        o=bad.payload.order_id,
    )
    assert (row.status, row.charge_command, row.claimed_by, row.lease_until) == ("PENDING", None, None, None)
    assert len(gateway.charged) == 1


def test_an_intent_id_already_stored_is_kept_and_the_late_writer_gets_it() -> None:
    store = PaymentStore(database("payment"))
    order_ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    raced, alone = (Payment(o, f"{o}:charge_payment", 4499, "usd", "pm_card_visa") for o in order_ids)

    async def scenario() -> tuple[Payment, Payment]:
        mine, other = await asyncio.gather(store.open(raced), store.open(alone))
        # Meanwhile another instance's driver created an intent for ``raced`` and stored it first.
        await store.update(dataclasses.replace(mine), intent_id="pi_drivers")
        return await asyncio.gather(store.update(mine, intent_id="pi_late"), store.update(other, intent_id="pi_own"))

    late, own = asyncio.run(scenario())
    assert (late.intent_id, own.intent_id) == ("pi_drivers", "pi_own")
    rows = query("payment", "SELECT order_id, intent_id FROM payments WHERE order_id = ANY(:o)", o=order_ids)
    assert {r.order_id: r.intent_id for r in rows} == dict(zip(order_ids, ["pi_drivers", "pi_own"], strict=True))


def test_new_payments_are_claimed_before_those_whose_backoff_ended_whatever_their_order_ids() -> None:
    waited = _command(charge_payment, msgspec.structs.replace(_data(), order_id=f"0000-{uuid.uuid4()}"))
    new = _command(charge_payment, msgspec.structs.replace(_data(), order_id=f"ffff-{uuid.uuid4()}"))
    unit = unit_factory(PaymentStore(database("payment")), CountingGateway())
    with rolled_back("payment", unit, payment_outbox) as uow:  # nothing committed: no other driver sees them
        driving.accept(uow, [waited, new])
        backoff_over = "UPDATE payments SET lease_until = now() - interval '1 second' WHERE order_id = :o"
        uow.conn.execute(sa.text(backoff_over), {"o": waited.payload.order_id})
        firsts = [[o.payment.order_id for o in uow.driven.claim(f"test/{i}", 1, 30.0)] for i in range(2)]
    assert firsts == [[new.payload.order_id], [waited.payload.order_id]]
    [index] = query("payment", "SELECT indexdef FROM pg_indexes WHERE indexname = 'payments_to_drive'")
    assert "lease_until NULLS FIRST" in index.indexdef
    assert "(charge_command IS NOT NULL) OR (refund_command IS NOT NULL)" in index.indexdef
