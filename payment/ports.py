"""The ports payment's use cases work through; adapters implement them, unit tests fake them."""

from __future__ import annotations

from typing import Any, Protocol

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
