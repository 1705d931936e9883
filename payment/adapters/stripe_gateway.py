"""The payment gateway on Stripe's API, through the official ``stripe`` SDK (v16 ``StripeClient``), asynchronously.

Works against real Stripe test mode and against the localstripe emulator (which ignores idempotency
keys: the create-then-confirm protocol in ``payment.services`` is what keeps charges single). Every call is
the SDK's ``*_async`` method on its httpx client: a charge waiting on Stripe holds a socket, not a thread.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx
import pybreaker
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


class _PooledHTTPXClient(stripe.HTTPXClient):
    """The SDK's httpx client with a connection pool as large as the calls payment keeps in flight.

    httpx's default pool (100 connections, 20 kept alive) would queue the rest of a batch's charges behind it
    and reopen connections. Used from one event loop for the life of the process, so connections are reused
    from call to call. Proxy settings are read from the environment once, when the client is made.
    """

    def __init__(self, timeout_s: float, max_connections: int) -> None:
        super().__init__(timeout=timeout_s)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        # The SDK's own certificate check (its CA bundle), on a pool of our size in place of the default one.
        verify = ssl.create_default_context(cafile=stripe.ca_bundle_path)
        self._client_async = httpx.AsyncClient(verify=verify, limits=limits)

    def _get_request_args_kwargs(self, method: str, url: str, headers: Mapping[str, str], post_data: Any) -> list[Any]:
        # The SDK hands its form-encoded body to httpx as ``data``, which httpx deprecates for text: ``content``.
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        kwargs["content"] = kwargs.pop("data") or None
        return [args, kwargs]


def _http_client(timeout_s: float, max_connections: int) -> stripe.HTTPClient:
    """httpx (asynchronous) under the SDK."""
    return _PooledHTTPXClient(timeout_s, max_connections)


class StripeGateway:
    """``PaymentGateway`` on Stripe PaymentIntents."""

    def __init__(
        self,
        api_key: str,
        api_base: str | None,
        *,
        max_network_retries: int = 2,
        timeout_s: float = 10.0,
        max_connections: int = 500,
        breaker_fail_max: int = 5,
        breaker_reset_s: float = 5.0,
    ) -> None:
        # StripeClient does not retry unless told to; the SDK retries connection errors, 409, 429 and 5xx.
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else {},
            max_network_retries=max_network_retries,
            http_client=_http_client(timeout_s, max_connections),
        )
        # After `breaker_fail_max` consecutive transient failures, calls fail at once for `breaker_reset_s`
        # (the commands wait in Kafka and are retried with backoff) instead of each waiting on a dead Stripe.
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=breaker_fail_max, reset_timeout=breaker_reset_s, exclude=[_is_answer], name="stripe"
        )

    async def _call(self, name: str, operation: Callable[[], Awaitable[T]]) -> T:
        outcome = "ok"
        try:
            with calling(f"stripe {name}", {"rpc.system": "stripe", "rpc.method": name}), self._breaker.calling():
                return await operation()
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

    async def create_intent(self, payment: Payment) -> str:
        """Create an unconfirmed PaymentIntent carrying the order id; nothing is charged yet.

        ``Declined`` when Stripe refuses the payment method (unknown or unusable): no intent was created.
        """
        params: PaymentIntentCreateParams = {
            "amount": payment.amount_cents,
            "currency": payment.currency,
            "payment_method": payment.payment_method,
            "metadata": {"order_id": payment.order_id, "idempotency_key": payment.idempotency_key},
        }
        intent = await self._call(
            "create_intent",
            lambda: self._client.v1.payment_intents.create_async(
                params=params, options={"idempotency_key": f"{payment.idempotency_key}:create"}
            ),
        )
        return intent.id

    async def confirm(self, intent_id: str, payment: Payment) -> Confirmation:
        """Confirm (charge) the intent; a decline is an answer, not an error, and leaves nothing chargeable."""
        try:
            intent = await self._call(
                "confirm",
                lambda: self._client.v1.payment_intents.confirm_async(
                    intent_id, options={"idempotency_key": f"{payment.idempotency_key}:confirm"}
                ),
            )
        except Declined as declined:
            # A card error leaves the intent requiring a new payment method: nothing can charge it. A refused
            # request most often means the intent no longer awaits confirmation (it already succeeded:
            # payment_intent_unexpected_state; localstripe answers a bare 400): look where it stands.
            refused = isinstance(declined.__cause__, stripe.InvalidRequestError)
            if refused and await self.cancel_unless_charged(intent_id):
                return Confirmation(True)
            return Confirmation(False, reason=declined.reason, decline_code=declined.code)
        if await self._charged_or_cancelled(intent_id, intent.status):
            return Confirmation(True)
        return Confirmation(False, reason=f"payment intent is {intent.status}")

    async def cancel_unless_charged(self, intent_id: str) -> bool:
        """True if the intent succeeded; otherwise cancel it (so it can never be charged) and return False."""
        intent = await self._call("retrieve", lambda: self._client.v1.payment_intents.retrieve_async(intent_id))
        return await self._charged_or_cancelled(intent_id, intent.status)

    async def _charged_or_cancelled(self, intent_id: str, status: str) -> bool:
        """True if the intent in ``status`` succeeded; else it is cancelled (unless it already was) and False."""
        if status == "succeeded":
            return True
        if status == "processing":  # neither charged nor cancellable yet: ask again later
            raise GatewayUnavailable(f"payment intent {intent_id} is processing")
        if status != "canceled":
            try:
                await self._call("cancel", lambda: self._client.v1.payment_intents.cancel_async(intent_id))
            except Declined as refused:
                if not isinstance(refused.__cause__, stripe.InvalidRequestError):
                    raise
                return await self._after_refused_cancel(intent_id)
        return False

    async def _after_refused_cancel(self, intent_id: str) -> bool:
        """A cancel refused as a bad request: the intent moved on since it was read (another driver's confirm,
        its lease lapsed mid-call, went through). Charged: True. Cancelled meanwhile: False. Else the
        answer is unknown: ``GatewayUnavailable`` (asked again later), never a decline of a charge that may stand.
        """
        intent = await self._call("retrieve", lambda: self._client.v1.payment_intents.retrieve_async(intent_id))
        if intent.status == "succeeded":
            return True
        if intent.status == "canceled":
            return False
        raise GatewayUnavailable(f"payment intent {intent_id} refused to be cancelled while {intent.status}")

    async def refund(self, intent_id: str, idempotency_key: str) -> str:
        """Refund the intent in full; an intent refunded before keeps its first refund."""
        existing = await self._call(
            "list_refunds",
            lambda: self._client.v1.refunds.list_async(params={"payment_intent": intent_id, "limit": 1}),
        )
        if existing.data:
            return existing.data[0].id
        refund = await self._call(
            "refund",
            lambda: self._client.v1.refunds.create_async(
                params={"payment_intent": intent_id}, options={"idempotency_key": idempotency_key}
            ),
        )
        return refund.id
