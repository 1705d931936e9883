"""The Stripe gateway against canned HTTP answers, through the real stripe SDK's asynchronous path (its error
classes chosen from the status as in production): how each Stripe error is sorted, and what a refused confirm
leaves behind."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest
import stripe
from prometheus_client import REGISTRY

from payment.adapters import stripe_gateway
from payment.adapters.stripe_gateway import StripeGateway
from payment.domain.gateway import Confirmation, Declined, GatewayRefused, GatewayUnavailable
from payment.domain.payments import Payment

CREATE, CONFIRM, RETRIEVE, CANCEL = (
    "POST /v1/payment_intents",
    "POST /v1/payment_intents/pi_1/confirm",
    "GET /v1/payment_intents/pi_1",
    "POST /v1/payment_intents/pi_1/cancel",
)
PAYMENT = Payment("o-1", "saga:charge_payment", 4499, "usd", "pm_card_visa", intent_id="pi_1")


class CannedStripe(stripe.HTTPClient):
    """Answers each ``"METHOD /path"`` with the next of its canned (status, body) pairs, or raises it."""

    name = "canned"

    def __init__(self) -> None:
        super().__init__()
        self.answers: dict[str, deque[tuple[int, dict[str, Any]] | Exception]] = {}
        self.calls: list[str] = []

    def answer(self, call: str, *answers: tuple[int, dict[str, Any]] | Exception) -> None:
        self.answers.setdefault(call, deque()).extend(answers)

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        call = f"{method.upper()} {urlsplit(url).path}"
        self.calls.append(call)
        answer = self.answers[call].popleft()
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return json.dumps(body).encode(), status, {}


def intent(status: str) -> tuple[int, dict[str, Any]]:
    return 200, {"id": "pi_1", "object": "payment_intent", "status": status}


def error(status: int, kind: str, message: str, **fields: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"type": kind, "message": message, **fields}}


CARD_DECLINED = error(402, "card_error", "Your card was declined.", code="card_declined", decline_code="do_not_honor")
TIMED_OUT = stripe.APIConnectionError("Read timed out")  # type: ignore[no-untyped-call]  # as the SDK's client raises it
UNEXPECTED_STATE = error(400, "invalid_request_error", "cannot confirm", code="payment_intent_unexpected_state")


@pytest.fixture
def canned(monkeypatch: pytest.MonkeyPatch) -> CannedStripe:
    http = CannedStripe()
    monkeypatch.setattr(stripe_gateway, "_http_client", lambda _timeout, _connections: http)
    return http


def gateway(**options: Any) -> StripeGateway:
    """A gateway on the canned answers, without the SDK's own retries (they would only repeat the answer)."""
    return StripeGateway("sk_test_canned", "http://stripe.invalid", max_network_retries=0, **options)


@pytest.mark.parametrize(
    ("answer", "raised", "text", "code"),
    [
        (CARD_DECLINED, Declined, "Your card was declined.", "do_not_honor"),
        (
            error(400, "invalid_request_error", "No such PaymentMethod: 'pm_x'", code="resource_missing"),
            Declined,
            "No such PaymentMethod: 'pm_x' (resource_missing)",
            "resource_missing",
        ),
        (error(404, "invalid_request_error", "Not Found"), Declined, "Not Found (HTTP 404)", None),  # localstripe
        (error(401, "invalid_request_error", "Invalid API Key provided"), GatewayRefused, "AuthenticationError", None),
        (error(403, "invalid_request_error", "not permitted"), GatewayRefused, "PermissionError", None),
        (error(400, "idempotency_error", "Keys for idempotent requests"), GatewayRefused, "IdempotencyError", None),
        (error(429, "rate_limit_error", "Too many requests"), GatewayUnavailable, "RateLimitError", None),
        (error(500, "api_error", "Something went wrong"), GatewayUnavailable, "APIError", None),
        (TIMED_OUT, GatewayUnavailable, "APIConnectionError", None),
    ],
)
def test_each_stripe_error_is_a_decline_an_outage_or_a_refusal_on_our_side(
    canned: CannedStripe, answer: Any, raised: type[Exception], text: str, code: str | None
) -> None:
    canned.answer(CREATE, answer)
    with pytest.raises(raised) as caught:
        asyncio.run(gateway().create_intent(PAYMENT))
    assert text in str(caught.value)
    assert isinstance(caught.value.__cause__, stripe.StripeError)
    if raised is Declined:
        assert isinstance(caught.value, Declined) and (caught.value.reason, caught.value.code) == (text, code)
    else:
        assert not isinstance(caught.value, Declined)


def test_stripes_text_is_bounded_and_freed_of_nul_bytes(canned: CannedStripe) -> None:
    canned.answer(CREATE, error(400, "invalid_request_error", "No\x00 such " + "x" * 5000, code="c\x00" * 100))
    with pytest.raises(Declined) as caught:
        asyncio.run(gateway().create_intent(PAYMENT))
    reason, code = caught.value.reason, caught.value.code
    assert reason.startswith("No\ufffd such xxx") and len(reason) == 500 and reason.endswith("x…")
    assert code is not None and "\x00" not in code and len(code) == 100


def test_a_declined_card_is_a_confirmation_that_did_not_succeed(canned: CannedStripe) -> None:
    canned.answer(CONFIRM, CARD_DECLINED)
    assert asyncio.run(gateway().confirm("pi_1", PAYMENT)) == Confirmation(
        False, "Your card was declined.", "do_not_honor"
    )
    assert canned.calls == [CONFIRM]  # the intent now needs a new payment method: nothing can charge it


def test_a_refused_confirm_of_an_intent_that_already_succeeded_is_a_success(canned: CannedStripe) -> None:
    canned.answer(CONFIRM, UNEXPECTED_STATE)
    canned.answer(RETRIEVE, intent("succeeded"))
    assert asyncio.run(gateway().confirm("pi_1", PAYMENT)) == Confirmation(True)
    assert canned.calls == [CONFIRM, RETRIEVE]


def test_a_refused_confirm_of_an_unfinished_intent_cancels_it_and_declines(canned: CannedStripe) -> None:
    canned.answer(CONFIRM, UNEXPECTED_STATE)
    canned.answer(RETRIEVE, intent("requires_confirmation"))
    canned.answer(CANCEL, intent("canceled"))
    assert asyncio.run(gateway().confirm("pi_1", PAYMENT)) == Confirmation(
        False, "cannot confirm (payment_intent_unexpected_state)", "payment_intent_unexpected_state"
    )
    assert canned.calls == [CONFIRM, RETRIEVE, CANCEL]


def test_a_refused_cancel_of_an_intent_another_driver_charged_meanwhile_is_a_charge(canned: CannedStripe) -> None:
    # Read unconfirmed; the confirm of a driver whose lease lapsed goes through; the cancel is then refused.
    canned.answer(RETRIEVE, intent("requires_confirmation"), intent("succeeded"))
    canned.answer(CANCEL, UNEXPECTED_STATE)
    assert asyncio.run(gateway().cancel_unless_charged("pi_1")) is True
    assert canned.calls == [RETRIEVE, CANCEL, RETRIEVE]


def test_a_refused_cancel_of_an_intent_cancelled_meanwhile_is_no_charge(canned: CannedStripe) -> None:
    canned.answer(RETRIEVE, intent("requires_confirmation"), intent("canceled"))
    canned.answer(CANCEL, UNEXPECTED_STATE)
    assert asyncio.run(gateway().cancel_unless_charged("pi_1")) is False


def test_a_refused_cancel_of_an_intent_still_unsettled_is_asked_about_later_not_declined(
    canned: CannedStripe,
) -> None:
    canned.answer(RETRIEVE, intent("requires_confirmation"), intent("requires_confirmation"))
    canned.answer(CANCEL, error(400, "invalid_request_error", "bad request"))  # localstripe: a bare 400
    with pytest.raises(GatewayUnavailable, match="pi_1 refused to be cancelled while requires_confirmation"):
        asyncio.run(gateway().cancel_unless_charged("pi_1"))
    assert canned.calls == [RETRIEVE, CANCEL, RETRIEVE]


def test_a_confirm_that_ends_awaiting_the_customer_cancels_the_intent(canned: CannedStripe) -> None:
    canned.answer(CONFIRM, intent("requires_action"))
    canned.answer(CANCEL, intent("canceled"))
    assert asyncio.run(gateway().confirm("pi_1", PAYMENT)) == Confirmation(False, "payment intent is requires_action")
    assert canned.calls == [CONFIRM, CANCEL]


def test_a_processing_intent_is_neither_charged_nor_cancelled_but_asked_about_later(canned: CannedStripe) -> None:
    canned.answer(RETRIEVE, intent("processing"))
    with pytest.raises(GatewayUnavailable, match="pi_1 is processing"):
        asyncio.run(gateway().cancel_unless_charged("pi_1"))
    assert canned.calls == [RETRIEVE]


def test_only_outages_open_the_circuit_and_each_call_is_counted_by_outcome(canned: CannedStripe) -> None:
    def counted(outcome: str) -> float:
        labels = {"operation": "create_intent", "outcome": outcome}
        return REGISTRY.get_sample_value("rv_stripe_calls_total", labels) or 0.0

    before = {outcome: counted(outcome) for outcome in ("invalid_request", "refused", "unavailable", "circuit_open")}
    stripe_ = gateway(breaker_fail_max=2, breaker_reset_s=60)
    canned.answer(CREATE, error(404, "invalid_request_error", "Not Found"), error(401, "invalid_request_error", "key"))
    canned.answer(CREATE, error(503, "api_error", "down"), error(503, "api_error", "down"))
    for raised in (Declined, GatewayRefused, GatewayUnavailable, GatewayUnavailable, GatewayUnavailable):
        with pytest.raises(raised):
            asyncio.run(stripe_.create_intent(PAYMENT))
    assert canned.calls == [CREATE] * 4  # the fifth call failed at once: only the two outages counted
    assert stripe_.breaker_state == "open"
    # pybreaker reports the failure that trips the circuit as the circuit opening.
    changes = {outcome: counted(outcome) - before[outcome] for outcome in before}
    assert changes == {"invalid_request": 1, "refused": 1, "unavailable": 1, "circuit_open": 2}
