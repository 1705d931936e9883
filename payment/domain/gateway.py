"""What a card processor answers: a confirmation's outcome, or that it cannot answer now."""

from __future__ import annotations

from dataclasses import dataclass


class GatewayUnavailable(Exception):
    """The processor could not be reached or failed on its side; the same call may succeed later."""


@dataclass(frozen=True)
class Confirmation:
    """The outcome of confirming a PaymentIntent: succeeded, or declined with a reason."""

    succeeded: bool
    reason: str | None = None
    decline_code: str | None = None
