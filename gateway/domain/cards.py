"""The test cards the checkout offers: the payment methods the payment emulator (localstripe, or the
simulated gateway) approves or declines.

localstripe declines ``pm_card_chargeCustomerFail`` when it is charged ("Your card was declined.",
``card_declined``), and Stripe's ``pm_card_visa_chargeDeclinedInsufficientFunds`` ("Your card has insufficient
funds."), which the project's patch teaches it (``infra/localstripe/patches.py``); Stripe's test mode knows both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TestCard:
    """A choice on the checkout form: its value, its label, and the payment method it stands for."""

    __test__ = False  # not a pytest test class

    value: str
    label: str
    payment_method: str


TEST_CARDS: tuple[TestCard, ...] = (
    TestCard("approved", "Approved", "pm_card_visa"),
    TestCard("declined", "Declined", "pm_card_chargeCustomerFail"),
    TestCard("insufficient-funds", "Insufficient funds", "pm_card_visa_chargeDeclinedInsufficientFunds"),
)


def test_card(value: str | None) -> TestCard | None:
    """The card a form's value names, or None."""
    return next((card for card in TEST_CARDS if card.value == value), None)
