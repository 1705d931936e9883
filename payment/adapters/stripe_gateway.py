"""The payment gateway on Stripe's API, through the official ``stripe`` SDK (v16 ``StripeClient``).

Works against real Stripe test mode and against the localstripe emulator (which ignores idempotency
keys: the create-then-confirm protocol in ``payment.services`` is what keeps charges single).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pybreaker
import requests
import stripe
from stripe.params import PaymentIntentCreateParams

from payment.adapters.stripe_errors import TRANSIENT, classified
from payment.domain.gateway import Confirmation, Declined, GatewayUnavailable
from payment.domain.payments import Payment
from plumbing.metrics import STRIPE_CALLS
from plumbing.tracing import calling

T = TypeVar("T")


def _is_answer(error: BaseException) -> bool:
    """Stripe answered (a decline, a bad request): not a sign that Stripe is failing."""
    return not isinstance(error, TRANSIENT)


def _http_client(api_base: str, timeout_s: float) -> stripe.HTTPClient:
    """requests under the SDK, with the proxy settings read from the environment once, not per call.

    A session that trusts the environment scans every environment variable for proxy settings on each
    request: about 7 % of the payment service's CPU under load (py-spy).
    """
    session = requests.Session()
    session.trust_env = False
    proxies = requests.utils.get_environ_proxies(api_base)
    return stripe.RequestsClient(timeout=timeout_s, session=session, proxy=dict(proxies) or None)  # type: ignore[arg-type]


class StripeGateway:
    """``PaymentGateway`` on Stripe PaymentIntents."""

    def __init__(
        self,
        api_key: str,
        api_base: str | None,
        *,
        max_network_retries: int = 2,
        timeout_s: float = 10.0,
        breaker_fail_max: int = 5,
        breaker_reset_s: float = 5.0,
    ) -> None:
        # StripeClient does not retry unless told to; the SDK retries connection errors, 409, 429 and 5xx.
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else {},
            max_network_retries=max_network_retries,
            http_client=_http_client(api_base or "https://api.stripe.com", timeout_s),
        )
        # After `breaker_fail_max` consecutive transient failures, calls fail at once for `breaker_reset_s`
        # (the commands wait in Kafka and are retried with backoff) instead of each waiting on a dead Stripe.
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=breaker_fail_max, reset_timeout=breaker_reset_s, exclude=[_is_answer], name="stripe"
        )

    def _call(self, name: str, operation: Callable[[], T]) -> T:
        outcome = "ok"
        try:
            with calling(f"stripe {name}", {"rpc.system": "stripe", "rpc.method": name}):
                return self._breaker.call(operation)
        except pybreaker.CircuitBreakerError as error:
            outcome = "circuit_open"
            raise GatewayUnavailable(f"stripe circuit open: {error}") from error
        except stripe.StripeError as error:
            outcome, raised = classified(error)
            raise raised from error
        finally:
            STRIPE_CALLS.labels(name, outcome).inc()

    @property
    def breaker_state(self) -> str:
        """closed, open or half-open."""
        return str(self._breaker.current_state)

    def create_intent(self, payment: Payment) -> str:
        """Create an unconfirmed PaymentIntent carrying the order id; nothing is charged yet.

        ``Declined`` when Stripe refuses the payment method (unknown or unusable): no intent was created.
        """
        params: PaymentIntentCreateParams = {
            "amount": payment.amount_cents,
            "currency": payment.currency,
            "payment_method": payment.payment_method,
            "metadata": {"order_id": payment.order_id, "idempotency_key": payment.idempotency_key},
        }
        intent = self._call(
            "create_intent",
            lambda: self._client.v1.payment_intents.create(
                params=params, options={"idempotency_key": f"{payment.idempotency_key}:create"}
            ),
        )
        return intent.id

    def confirm(self, intent_id: str, payment: Payment) -> Confirmation:
        """Confirm (charge) the intent; a decline is an answer, not an error, and leaves nothing chargeable."""
        try:
            intent = self._call(
                "confirm",
                lambda: self._client.v1.payment_intents.confirm(
                    intent_id, options={"idempotency_key": f"{payment.idempotency_key}:confirm"}
                ),
            )
        except Declined as declined:
            # A card error leaves the intent requiring a new payment method: nothing can charge it. A refused
            # request most often means the intent no longer awaits confirmation (it already succeeded:
            # payment_intent_unexpected_state; localstripe answers a bare 400): look where it stands.
            if isinstance(declined.__cause__, stripe.InvalidRequestError) and self.cancel_unless_charged(intent_id):
                return Confirmation(True)
            return Confirmation(False, reason=declined.reason, decline_code=declined.code)
        if self._charged_or_cancelled(intent_id, intent.status):
            return Confirmation(True)
        return Confirmation(False, reason=f"payment intent is {intent.status}")

    def cancel_unless_charged(self, intent_id: str) -> bool:
        """True if the intent succeeded; otherwise cancel it (so it can never be charged) and return False."""
        intent = self._call("retrieve", lambda: self._client.v1.payment_intents.retrieve(intent_id))
        return self._charged_or_cancelled(intent_id, intent.status)

    def _charged_or_cancelled(self, intent_id: str, status: str) -> bool:
        """True if the intent in ``status`` succeeded; else it is cancelled (unless it already was) and False."""
        if status == "succeeded":
            return True
        if status == "processing":  # neither charged nor cancellable yet: ask again later
            raise GatewayUnavailable(f"payment intent {intent_id} is processing")
        if status != "canceled":
            self._call("cancel", lambda: self._client.v1.payment_intents.cancel(intent_id))
        return False

    def refund(self, intent_id: str, idempotency_key: str) -> str:
        """Refund the intent in full; an intent refunded before keeps its first refund."""
        existing = self._call(
            "list_refunds",
            lambda: self._client.v1.refunds.list(params={"payment_intent": intent_id, "limit": 1}),
        )
        if existing.data:
            return existing.data[0].id
        refund = self._call(
            "refund",
            lambda: self._client.v1.refunds.create(
                params={"payment_intent": intent_id}, options={"idempotency_key": idempotency_key}
            ),
        )
        return refund.id
