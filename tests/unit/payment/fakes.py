"""Payment's ports in memory."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import sqlalchemy as sa

from contracts.envelope import Envelope
from contracts.payment import ChargePayment
from contracts.topics import SAGA_REPLIES
from payment.adapters.group_commit import GroupCommit
from payment.domain.driving import TO_DRIVE
from payment.domain.gateway import Confirmation, Declined, GatewayUnavailable
from payment.domain.payments import Payment
from payment.ports import Owed, Unreadable
from plumbing.unit_of_work import reply_id
from tests.unit.fakes import FakeMessages, FakeUnitsOfWork


class FakeRecords:
    """``payment.ports.PaymentRecords`` in a dict; hands out copies, as a database would. Like ``PaymentStore``,
    keeps an intent id already stored (the caller's payment takes that one)."""

    def __init__(self) -> None:
        self.rows: dict[str, Payment] = {}

    async def open(self, payment: Payment) -> Payment:
        self.rows.setdefault(payment.order_id, dataclasses.replace(payment))
        return dataclasses.replace(self.rows[payment.order_id])

    async def find(self, order_id: str) -> Payment | None:
        row = self.rows.get(order_id)
        return dataclasses.replace(row) if row else None

    async def update(self, payment: Payment, **changes: Any) -> Payment:
        for name, value in changes.items():
            setattr(payment, name, value)
        stored = self.rows.get(payment.order_id)
        if "intent_id" in changes and stored is not None and stored.intent_id is not None:
            payment.intent_id = stored.intent_id
        self.rows[payment.order_id] = dataclasses.replace(payment)
        return payment


class Together:
    """Holds calls in rounds of ``count``: each round's calls wait until all ``count`` of them are waiting, then
    all go at once. Proof that they were in flight together, without a clock (a gateway or a database that
    answers a whole round after one latency). A round that never fills fails after ``timeout_s``."""

    def __init__(self, count: int, timeout_s: float = 10.0) -> None:
        self.count = count
        self.timeout_s = timeout_s
        self.waiting = 0
        """Calls so far."""
        self._rounds: dict[int, asyncio.Event] = {}

    async def wait(self) -> None:
        full = self._rounds.setdefault(self.waiting // self.count, asyncio.Event())
        self.waiting += 1
        if self.waiting % self.count == 0:
            full.set()
        await asyncio.wait_for(full.wait(), self.timeout_s)


DECLINING_CARD = "pm_card_chargeCustomerFail"
"""Stripe's test card whose charges are declined."""

UNKNOWN_METHOD = "pm_no_such_method"
"""A payment method Stripe does not know: it refuses to create an intent for it."""


class FakeGateway:
    """``payment.ports.PaymentGateway``: charges every card but ``DECLINING_CARD`` unless told to decline all, and
    refuses ``UNKNOWN_METHOD``; ``fail_next`` makes one call (``"create"``, ``"confirm"`` or ``"cancel"``) raise
    ``failure`` (``GatewayUnavailable`` unless told otherwise). With ``answer_together`` set, every call waits
    (on the event loop, as a real one waits on the network) until that many calls are waiting at once; it
    counts the calls in flight."""

    def __init__(self, *, decline: bool = False) -> None:
        self.decline = decline
        self.intents: dict[str, str] = {}
        self.charges: list[str] = []
        self.refunds: list[str] = []
        self.fail_next: str | None = None
        self.failure: Callable[[str], Exception] = GatewayUnavailable
        self._ids = itertools.count(1)
        self.answer_together: Together | None = None
        self.in_flight = 0
        self.most_in_flight = 0

    async def _call(self, call: str) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.answer_together is not None:
                await self.answer_together.wait()
        finally:
            self.in_flight -= 1
        if self.fail_next == call:
            self.fail_next = None
            raise self.failure(call)

    async def create_intent(self, payment: Payment) -> str:
        await self._call("create")
        if payment.payment_method == UNKNOWN_METHOD:
            raise Declined(f"No such PaymentMethod: '{UNKNOWN_METHOD}' (resource_missing)", "resource_missing")
        intent = f"pi_{next(self._ids)}"
        self.intents[intent] = "requires_confirmation"
        return intent

    async def confirm(self, intent_id: str, payment: Payment) -> Confirmation:
        await self._call("confirm")
        if self.intents[intent_id] == "succeeded":
            return Confirmation(True)
        if self.decline or payment.payment_method == DECLINING_CARD:
            return Confirmation(False, reason="Your card was declined.", decline_code="card_declined")
        self.intents[intent_id] = "succeeded"
        self.charges.append(intent_id)
        return Confirmation(True)

    async def cancel_unless_charged(self, intent_id: str) -> bool:
        await self._call("cancel")
        if self.intents[intent_id] == "succeeded":
            return True
        self.intents[intent_id] = "canceled"
        return False

    async def refund(self, intent_id: str, idempotency_key: str) -> str:
        if intent_id not in self.refunds:
            self.refunds.append(intent_id)
        return f"re_{intent_id}"


class FakePaymentUnitOfWork(FakeMessages):
    """``payment.ports.PaymentUnitOfWork`` in memory, with its payments' driving state."""

    def __init__(self, gateway: FakeGateway | None = None) -> None:
        super().__init__()
        self.payments = FakeRecords()
        self.gateway = gateway or FakeGateway()
        self.driven = FakeDrivenPayments(self.payments, self)
        self.on_commit: list[Callable[[], None]] = []
        self.on_rollback: list[Callable[[], None]] = []
        self.dead_letters: list[dict[str, Any]] = []

    def dead_letter(self, *, topic: str, key: str | None, value: bytes, headers: dict[str, str], reason: str) -> None:
        self.dead_letters.append({"topic": topic, "key": key, "value": value, "headers": headers, "reason": reason})


def payments(uow: FakePaymentUnitOfWork | None = None) -> FakeUnitsOfWork[FakePaymentUnitOfWork]:
    """Units of work over ``uow`` (by default one with no payments yet)."""
    return FakeUnitsOfWork(uow or FakePaymentUnitOfWork())


def charge(order_id: str, method: str = "pm_card_visa") -> ChargePayment:
    """The coordinator's command to charge ``order_id`` 44.99 USD."""
    return ChargePayment(
        order_id=order_id,
        customer_id="c-1",
        amount_cents=4499,
        currency="usd",
        payment_method=method,
        idempotency_key=f"{order_id}:charge_payment",
    )


class GroupCommittedRecords:
    """``payment.ports.PaymentRecords`` whose writes share transactions through the real ``GroupCommit``, as
    ``PaymentStore``'s do; a transaction holding a payment whose idempotency key is in ``refused`` fails whole,
    as one row's unique violation fails a real one. Counts the transactions that committed."""

    def __init__(self) -> None:
        self.rows: dict[str, Payment] = {}
        self.refused: set[str] = set()
        self.transactions = 0
        self._writes: GroupCommit[tuple[str, Payment], Payment] = GroupCommit(self._apply)

    def _apply(self, changes: list[tuple[str, Payment]]) -> list[Payment]:
        if any(payment.idempotency_key in self.refused for _, payment in changes):
            duplicate = psycopg.errors.lookup("23505")("duplicate key value violates unique constraint")
            raise sa.exc.DBAPIError.instance("INSERT INTO payments", {}, duplicate, psycopg.Error)
        self.transactions += 1
        stored = []
        for kind, payment in changes:
            if kind == "open":
                self.rows.setdefault(payment.order_id, dataclasses.replace(payment))
            else:
                self.rows[payment.order_id] = dataclasses.replace(payment)
            stored.append(dataclasses.replace(self.rows[payment.order_id]))
        return stored

    async def open(self, payment: Payment) -> Payment:
        return await self._writes.submit(("open", payment))

    async def find(self, order_id: str) -> Payment | None:
        row = self.rows.get(order_id)
        return dataclasses.replace(row) if row else None

    async def update(self, payment: Payment, **changes: Any) -> Payment:
        for name, value in changes.items():
            setattr(payment, name, value)
        await self._writes.submit(("update", dataclasses.replace(payment)))
        return payment


@dataclasses.dataclass
class DrivenRow:
    """What ``payments`` holds about driving one payment."""

    charge: Envelope[Any] | None = None
    refund: Envelope[Any] | None = None
    claimed_by: str | None = None
    lease_until: float | None = None
    attempts: int = 0
    charge_trace: str | None = None
    refund_trace: str | None = None
    unreadable: tuple[Unreadable, ...] = ()
    """Stored commands whose bytes do not decode (``SqlDrivenPayments`` reads them so)."""


class FakeDrivenPayments:
    """``payment.ports.DrivenPayments`` beside a ``FakeRecords`` (the same payments), on a clock of its own
    (``now``, in seconds) for the leases; ``inbox`` keeps each recorded reply's payload by its command's id."""

    def __init__(self, records: FakeRecords, messages: FakeMessages) -> None:
        self.records = records
        self.messages = messages
        self.rows: dict[str, DrivenRow] = {}
        self.inbox: dict[uuid.UUID, Any] = {}
        self.now = 0.0
        self.intent_statements = 0

    def _owed(self, order_id: str) -> Owed:
        row = self.rows.setdefault(order_id, DrivenRow())
        payment = dataclasses.replace(self.records.rows[order_id])
        traces = (row.charge_trace, row.refund_trace)
        return Owed(payment, row.charge, row.refund, row.attempts, row.claimed_by, *traces, row.unreadable)

    def lock(self, new: list[Payment]) -> dict[str, Owed]:
        for payment in new:
            self.records.rows.setdefault(payment.order_id, dataclasses.replace(payment))
        return {p.order_id: self._owed(p.order_id) for p in new}

    def owe(self, owed: list[Owed], lease_s: float = 0.0) -> set[str]:
        taken = set()
        for owing in owed:
            self.records.rows[owing.payment.order_id].status = owing.payment.status
            row = self.rows.setdefault(owing.payment.order_id, DrivenRow())
            if owing.charge is not None:
                row.charge, row.charge_trace = owing.charge, owing.charge_trace
            if owing.refund is not None:
                row.refund, row.refund_trace = owing.refund, owing.refund_trace
            row.attempts = 0
            if row.claimed_by is None:
                row.lease_until = None
            if owing.lease is not None and (row.lease_until is None or row.lease_until < self.now):
                row.claimed_by, row.lease_until = owing.lease, self.now + lease_s
                taken.add(owing.payment.order_id)
        return taken

    def claim(self, lease: str, limit: int, lease_s: float) -> list[Owed]:
        due = sorted(
            (
                order_id
                for order_id, payment in self.records.rows.items()
                if payment.status in TO_DRIVE
                and order_id in self.owing([order_id])
                and (self.rows.setdefault(order_id, DrivenRow()).lease_until or -1.0) < self.now
            ),
            key=lambda order_id: (
                self.rows[order_id].lease_until is not None,
                self.rows[order_id].lease_until,
                order_id,
            ),
        )[:limit]
        for order_id in due:
            self.rows[order_id].claimed_by, self.rows[order_id].lease_until = lease, self.now + lease_s
        return [self._owed(order_id) for order_id in due]

    def renew(self, leases: list[str], lease_s: float) -> None:
        for row in self.rows.values():
            if row.claimed_by in leases:
                row.lease_until = self.now + lease_s

    def owing(self, order_ids: list[str]) -> set[str]:
        owed = {o for o, row in self.rows.items() if row.charge is not None or row.refund is not None or row.unreadable}
        return owed & set(order_ids)

    def held(self, order_ids: list[str]) -> dict[str, Owed]:
        return {o: self._owed(o) for o in order_ids if o in self.records.rows}

    def store_intents(self, intents: list[tuple[str, str, str]]) -> list[bool]:
        self.intent_statements += 1
        return [self._store_intent(*intent) for intent in intents]

    def _store_intent(self, order_id: str, intent_id: str, lease: str) -> bool:
        payment = self.records.rows[order_id]
        if self.rows[order_id].claimed_by != lease or payment.intent_id is not None:
            return False
        payment.intent_id = intent_id
        return True

    async def stored_intent(self, order_id: str, intent_id: str, lease: str) -> bool:
        """``store_intents`` as the driver calls it, for one intent."""
        return self.store_intents([(order_id, intent_id, lease)])[0]

    def settle(self, outcomes: list[tuple[Payment, bool, bool]]) -> None:
        for payment, charge_answered, refund_answered in outcomes:
            self.records.rows[payment.order_id] = dataclasses.replace(payment)
            row = self.rows[payment.order_id]
            row.charge = None if charge_answered else row.charge
            row.refund = None if refund_answered else row.refund
            row.claimed_by, row.lease_until, row.attempts = None, None, 0

    def postpone(self, order_id: str, lease: str, wait_s: float) -> None:
        row = self.rows[order_id]
        if row.claimed_by == lease:
            row.claimed_by, row.lease_until, row.attempts = None, self.now + wait_s, row.attempts + 1

    def release(self, instance: str) -> None:
        for row in self.rows.values():
            if (row.claimed_by or "").startswith(f"{instance}/"):
                row.claimed_by, row.lease_until = None, None

    def record_replies(self) -> None:
        for sent in self.messages.sent:
            command_id = sent.envelope.causation_id
            if sent.topic == SAGA_REPLIES.name and command_id and sent.envelope.message_id == reply_id(command_id):
                self.inbox[command_id] = sent.envelope.payload

    def park(self, order_id: str, lease: str) -> None:
        row = self.rows[order_id]
        if row.claimed_by == lease:
            for command in (row.charge, row.refund):
                if command is not None:
                    self.inbox.pop(command.message_id, None)
            row.charge = row.refund = row.claimed_by = row.lease_until = None
            row.unreadable = ()
