"""The ports payment's use cases work through; adapters implement them, unit tests fake them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from contracts.envelope import Envelope
from payment.domain.gateway import Confirmation
from payment.domain.payments import Payment
from plumbing.unit_of_work import Messages


class PaymentGateway(Protocol):
    """What payment needs from a card processor. Every call is safe to repeat.

    Every call is a coroutine: a charge waiting on the processor holds no thread, so one event loop keeps
    hundreds in flight. A call that cannot reach the processor raises
    ``payment.domain.gateway.GatewayUnavailable`` (retry later); one the processor refuses for a reason on
    our side raises ``GatewayRefused`` (no retry helps).
    """

    async def create_intent(self, payment: Payment) -> str:
        """Create an unconfirmed PaymentIntent (charges nothing); returns its id.

        Raises ``Declined`` when the processor refuses the payment method (unknown or unusable); then no
        intent exists.
        """
        ...

    async def confirm(self, intent_id: str, payment: Payment) -> Confirmation:
        """Confirm the intent (charge it); an intent that already succeeded is reported as succeeded.

        A declined charge is a Confirmation that did not succeed, and leaves no intent that could still be charged.
        """
        ...

    async def cancel_unless_charged(self, intent_id: str) -> bool:
        """True if the intent was charged; otherwise cancel it so it never can be, and return False."""
        ...

    async def refund(self, intent_id: str, idempotency_key: str) -> str:
        """Refund the intent's charge in full, unless it already was; returns the refund id."""
        ...


class PaymentRecords(Protocol):
    """Where payments and their progress are kept; every change is durable when its call returns.

    Coroutines, so that the changes of many charges in flight can share one commit.
    """

    async def open(self, payment: Payment) -> Payment:
        """Record a new payment, or return the one this order already has."""
        ...

    async def find(self, order_id: str) -> Payment | None:
        """The order's payment, or None."""
        ...

    async def update(self, payment: Payment, **changes: Any) -> Payment:
        """Apply and persist changes to a payment."""
        ...


class PaymentUnitOfWork(Messages, Protocol):
    """The consumer's transaction for payment's messages, with the ports payment's use cases need.

    ``payments`` is not bound to that transaction: each change commits at once in a short transaction of
    its own, so progress with the processor survives a crash between a Stripe call and the batch's commit
    (the redelivered command resumes from it). Only the messages wait for the transaction.
    """

    @property
    def payments(self) -> PaymentRecords: ...

    @property
    def gateway(self) -> PaymentGateway: ...

    @property
    def on_commit(self) -> list[Callable[[], None]]:
        """Called once the unit of work's transaction has committed."""
        ...

    @property
    def on_rollback(self) -> list[Callable[[], None]]:
        """Called when the unit of work's transaction does not commit."""
        ...

    @property
    def driven(self) -> DrivenPayments:
        """Bound to the unit of work's transaction, unlike ``payments``."""
        ...

    def dead_letter(self, *, topic: str, key: str | None, value: bytes, headers: dict[str, str], reason: str) -> None:
        """Queue a message given up on for the dead-letter topic, saying why (``UnitOfWork.dead_letter``)."""
        ...


@dataclass(frozen=True)
class Owed:
    """A payment as its driver sees it, with the commands whose replies it still owes (None: none owed)."""

    payment: Payment
    charge: Envelope[Any] | None
    refund: Envelope[Any] | None
    attempts: int = 0
    """Tries since the payment last moved on (each ended by a processor outage)."""
    lease: str | None = None
    """The claim that holds the payment (``DrivenPayments.claim``), if any: a fence for everything its driver writes."""
    charge_trace: str | None = None
    """The ``traceparent`` the owed charge came in (None: none known)."""
    refund_trace: str | None = None
    """The ``traceparent`` the owed refund came in."""
    unreadable: tuple[Unreadable, ...] = ()
    """Owed commands whose stored bytes do not decode (then ``charge``/``refund`` is None): the driver gives up."""


@dataclass(frozen=True)
class Unreadable:
    """An owed command as stored, whose bytes no longer decode (e.g. written by another version)."""

    command: str
    """``charge`` or ``refund``."""
    value: bytes
    trace: str | None
    error: str
    """Why it does not decode."""


class DrivenPayments(Protocol):
    """The payments' driving state, in the transaction of the unit of work that holds it: which replies each
    payment owes and which instance drives it (``payment.driving``)."""

    def lock(self, new: list[Payment]) -> dict[str, Owed]:
        """Record the payments whose orders have none yet, then lock every one of these orders' payments."""
        ...

    def owe(self, owed: list[Owed], lease_s: float = 0.0) -> set[str]:
        """Set each payment's status and record its commands (those not None) as the ones it owes replies to;
        a payment nobody drives is due at once. One whose ``lease`` is set is leased to that claim for ``lease_s``
        if nobody holds it (as ``claim`` would take it): the orders of those leased."""
        ...

    def claim(self, lease: str, limit: int, lease_s: float) -> list[Owed]:
        """Lease up to ``limit`` payments to drive that nobody holds (or whose lease ran out) for ``lease_s`` to the
        claim named ``lease`` (``<instance>/<unique>``: an instance may hold several claims). Only payments that
        owe a reply are driven: one without (charged by the consumer itself, driver off) is never taken."""
        ...

    def renew(self, leases: list[str], lease_s: float) -> None:
        """Extend the payments these claims still hold to ``lease_s`` from now (their Stripe calls go on)."""
        ...

    def owing(self, order_ids: list[str]) -> set[str]:
        """Which of these orders' payments owe a reply (accepted, not settled): those are the driver's."""
        ...

    def held(self, order_ids: list[str]) -> dict[str, Owed]:
        """Lock these payments; each with the replies it owes now and the claim that holds it now."""
        ...

    def settle(self, outcomes: list[tuple[Payment, bool, bool]]) -> None:
        """For each (payment, charge answered, refund answered): store the payment's outcome, forget the replies
        answered, and release it (no claimant, no lease)."""
        ...

    def store_intents(self, intents: list[tuple[str, str, str]]) -> list[bool]:
        """For each (order id, intent id, lease): store the payment's new intent id if the claim ``lease`` still holds
        the payment and it has no intent yet; whether it did (if not, the intent must not be confirmed)."""
        ...

    def postpone(self, order_id: str, lease: str, wait_s: float) -> None:
        """Release a payment the claim ``lease`` holds, to be driven again in ``wait_s`` (a processor outage)."""
        ...

    def release(self, instance: str) -> None:
        """Release every payment the claims of ``instance`` hold (it starts again: what it drove died with it)."""
        ...

    def record_replies(self) -> None:
        """Keep each reply queued so far in this unit of work in the inbox beside its command, for a copy of the
        command to get."""
        ...

    def park(self, order_id: str, lease: str) -> None:
        """Release a payment the claim ``lease`` holds until a command comes for it again (the processor refused a call
        for good), forgetting its owed replies and their commands' inbox entries (answered with a failure)."""
        ...
