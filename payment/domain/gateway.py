"""What a card processor answers: a confirmation's outcome, a refusal, or that it cannot answer now."""

from __future__ import annotations

from dataclasses import dataclass


class GatewayUnavailable(Exception):
    """The processor could not be reached or failed on its side; the same call may succeed later."""


class GatewayRefused(Exception):
    """The processor refused the request and would refuse it again: no retry can help.

    Our credentials or permissions are wrong, or the processor finds a request invalid outside a charge: an
    operator has to look. The customer is not at fault, so this is never recorded as a decline.
    """


class Declined(GatewayRefused):
    """The processor refused this payment: the card was declined, or the payment method is unknown or unusable.

    An answer about the customer's payment, not a failure: the order is rejected with ``reason``.
    """

    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class Confirmation:
    """The outcome of confirming a PaymentIntent: succeeded, or declined with a reason."""

    succeeded: bool
    reason: str | None = None
    decline_code: str | None = None
