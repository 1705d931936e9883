"""The benchmark's in-process gateway: Stripe's answers (idempotency keys honoured, the failing test card
declined) at once, or each after a latency spent waiting on the event loop, all calls waiting together."""

from __future__ import annotations

import asyncio

from payment.adapters.simulated_gateway import SimulatedGateway
from payment.domain.gateway import Confirmation
from payment.domain.payments import Payment
from tests.unit.payment.fakes import DECLINING_CARD, Together


def payment(order_id: str = "o-1", method: str = "pm_card_visa") -> Payment:
    return Payment(order_id, f"{order_id}:charge_payment", 4499, "usd", method)


def test_a_repeated_create_returns_the_same_intent_and_a_repeated_confirm_charges_once() -> None:
    async def scenario(gateway: SimulatedGateway) -> None:
        first = await gateway.create_intent(payment())
        assert await gateway.create_intent(payment()) == first
        assert await gateway.create_intent(payment("o-2")) != first
        assert await gateway.confirm(first, payment()) == Confirmation(True)
        assert await gateway.confirm(first, payment()) == Confirmation(True)
        assert await gateway.cancel_unless_charged(first) is True
        refund = await gateway.refund(first, "o-1:refund_payment")
        assert await gateway.refund(first, "o-1:refund_payment:again") == refund

    asyncio.run(scenario(SimulatedGateway()))


def test_the_failing_test_card_is_declined_and_its_intent_can_be_cancelled() -> None:
    async def scenario(gateway: SimulatedGateway) -> None:
        declining = payment(method=DECLINING_CARD)
        intent = await gateway.create_intent(declining)
        assert await gateway.confirm(intent, declining) == Confirmation(
            False, reason="Your card was declined.", decline_code="generic_decline"
        )
        assert await gateway.cancel_unless_charged(intent) is False

    asyncio.run(scenario(SimulatedGateway()))


def test_the_insufficient_funds_card_is_declined_with_its_own_reason() -> None:
    async def scenario(gateway: SimulatedGateway) -> None:
        poor = payment(method="pm_card_visa_chargeDeclinedInsufficientFunds")
        intent = await gateway.create_intent(poor)
        assert await gateway.confirm(intent, poor) == Confirmation(
            False, reason="Your card has insufficient funds.", decline_code="insufficient_funds"
        )

    asyncio.run(scenario(SimulatedGateway()))


def test_every_call_waits_the_latency_and_many_calls_wait_at_once() -> None:
    waits: list[float] = []
    together = Together(200)  # no call ends until all 200 are waiting: the total is one latency, not 200

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await together.wait()

    async def scenario(gateway: SimulatedGateway) -> list[Confirmation]:
        orders = [payment(f"o-{n}") for n in range(200)]
        intents = await asyncio.gather(*(gateway.create_intent(p) for p in orders))
        return await asyncio.gather(*(gateway.confirm(i, p) for i, p in zip(intents, orders, strict=True)))

    confirmations = asyncio.run(scenario(SimulatedGateway(0.2, sleep=sleep)))
    assert confirmations == [Confirmation(True)] * 200
    assert waits == [0.2] * 400 and together.waiting == 400


def test_the_instant_gateway_does_not_wait() -> None:
    async def never(_seconds: float) -> None:
        raise AssertionError("the instant gateway waited")

    gateway = SimulatedGateway(sleep=never)
    assert asyncio.run(gateway.create_intent(payment())).startswith("pi_simulated_")
