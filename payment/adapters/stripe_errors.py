"""Stripe's errors, sorted in this one place into what payment does about them.

* ``CardError`` (402) and ``InvalidRequestError`` (400/404: an unknown or unusable payment method, a refused
  parameter) are answers about this payment: ``Declined``, with Stripe's message and code.
* ``APIConnectionError`` (network failures and timeouts), ``RateLimitError`` (429) and ``APIError`` (5xx, 409,
  an unreadable answer) mean "try again later": ``GatewayUnavailable``. The SDK has already retried them.
* Everything else says our side is wrong: ``AuthenticationError`` (401, the key) and ``PermissionError`` (403,
  the account), ``IdempotencyError`` (a key reused with other parameters): ``GatewayRefused``. Not the
  customer's fault, so never a decline, and no retry can fix it: the command is dead-lettered and its saga
  told, and an operator replays it once the configuration is fixed.

stripe 16 (``stripe/_error.py``) derives each of these classes directly from ``stripe.StripeError``, none from
another, and picks the class from the HTTP status (``_api_requestor.specific_v1_api_error``); the SDK's
requests client raises ``APIConnectionError`` for any failure to get an answer, timeouts included. See
https://docs.stripe.com/api/errors/handling for what each class means.
"""

from __future__ import annotations

import stripe

from contracts.base import DeclineCode, Reason, fit
from payment.domain.gateway import Declined, GatewayRefused, GatewayUnavailable

TRANSIENT = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)
"""Errors that mean "try again later"; the rest are answers (a circuit breaker must not count them)."""


def classified(error: stripe.StripeError) -> tuple[str, Exception]:
    """The outcome to count for a failed Stripe call, and the payment error to raise in its place."""
    if isinstance(error, stripe.CardError):
        # stripe 16's CardError has no decline_code of its own; the error body may carry one.
        decline_code = getattr(error.error, "decline_code", None) if error.error else None
        return "card_declined", Declined(_text(error.user_message or error.code), _code(decline_code or error.code))
    if isinstance(error, stripe.InvalidRequestError):
        # Stripe says which code (e.g. resource_missing); an emulator may only give the HTTP status.
        detail = error.code or f"HTTP {error.http_status}"
        return "invalid_request", Declined(_text(f"{error.user_message} ({detail})"), _code(error.code))
    summary = f"{type(error).__name__}: {error.user_message}"
    if isinstance(error, TRANSIENT):
        return "unavailable", GatewayUnavailable(_text(f"stripe unavailable: {summary}"))
    return "refused", GatewayRefused(_text(f"stripe refused our request (check the API key and account): {summary}"))


def _text(text: str | None) -> str:
    """Text with Stripe's words in it, fit to be stored (no NUL) and to go into a reply's reason (bounded)."""
    return fit(text or "", Reason)


def _code(code: str | None) -> str | None:
    return fit(code, DeclineCode) if code else None
