"""Which Stripe payment talks to: any key goes to Stripe itself unless the emulator's base URL is configured; the
emulator's own key without that URL, a live key with it, and an empty key are refused at start."""

from __future__ import annotations

import os

import pytest

from payment.settings import EMULATOR_KEY, PaymentSettings, stripe_api_base
from plumbing.configuration import ConfigurationError

LIVE_KEY = "sk_live_51Hxxxxxxxxxxxxxxxx"
RESTRICTED_KEY = "rk_live_51Hxxxxxxxxxxxxxxxx"


@pytest.mark.parametrize("key", [LIVE_KEY, RESTRICTED_KEY, "sk_test_51Hxxxxxxxxxxxxxxxx"])
def test_a_stripe_key_without_a_base_url_goes_to_stripe(key: str) -> None:
    assert stripe_api_base(key, None) is None  # the SDK's default: api.stripe.com


@pytest.mark.parametrize("key", [EMULATOR_KEY, "sk_test_51Hxxxxxxxxxxxxxxxx"])
def test_a_configured_base_url_is_the_emulator(key: str) -> None:
    assert stripe_api_base(key, "http://127.0.0.1:8420") == "http://127.0.0.1:8420"


@pytest.mark.parametrize("key", [LIVE_KEY, RESTRICTED_KEY])
def test_a_live_key_is_never_sent_to_a_base_url(key: str) -> None:
    with pytest.raises(ValueError, match=r"^RV_STRIPE_API_KEY is a live key but RV_STRIPE_API_BASE is set"):
        stripe_api_base(key, "http://127.0.0.1:8420")


def test_the_emulators_key_without_its_url_is_refused() -> None:
    with pytest.raises(ValueError, match=r"RV_STRIPE_API_KEY is the emulator's key .* RV_STRIPE_API_BASE is not set"):
        stripe_api_base(EMULATOR_KEY, None)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("RV_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_payment_settings_route_a_live_key_to_stripe(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("RV_STRIPE_API_KEY", LIVE_KEY)
    stripe = PaymentSettings.load().stripe()
    assert (stripe.api_key, stripe.api_base) == (LIVE_KEY, None)
    assert LIVE_KEY not in repr(PaymentSettings.load())
    assert LIVE_KEY not in repr(stripe)


def test_payment_settings_route_to_the_configured_emulator(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("RV_STRIPE_API_BASE", "http://localstripe:8420")
    stripe = PaymentSettings.load().stripe()
    assert (stripe.api_key, stripe.api_base) == (EMULATOR_KEY, "http://localstripe:8420")


def test_payment_refuses_to_start_with_the_emulators_key_and_no_url(environment: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="RV_STRIPE_API_BASE is not set"):
        PaymentSettings.load()
    environment.setenv("RV_PAYMENT_GATEWAY", "instant")  # no Stripe at all: nothing to refuse
    assert PaymentSettings.load().gateway().kind == "instant"


def test_a_base_url_must_be_a_url(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("RV_STRIPE_API_BASE", "localstripe:8420")
    with pytest.raises(ConfigurationError, match=r"^RV_STRIPE_API_BASE='localstripe:8420': String should match"):
        PaymentSettings.load()


def test_payment_refuses_to_start_with_a_live_key_and_a_base_url(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("RV_STRIPE_API_KEY", RESTRICTED_KEY)
    environment.setenv("RV_STRIPE_API_BASE", "http://localstripe:8420")
    with pytest.raises(
        ConfigurationError, match=r"^RV_STRIPE_API_KEY is a live key but RV_STRIPE_API_BASE is set"
    ) as e:
        PaymentSettings.load()
    assert RESTRICTED_KEY not in str(e.value)


@pytest.mark.parametrize("empty", ["", "  "])
def test_payment_refuses_an_empty_key(environment: pytest.MonkeyPatch, empty: str) -> None:
    environment.setenv("RV_STRIPE_API_KEY", empty)
    with pytest.raises(ConfigurationError, match=r"^RV_STRIPE_API_KEY: must not be empty$"):
        PaymentSettings.load()
