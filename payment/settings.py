"""Payment's settings: the shared ones, which gateway it charges through (Stripe, the emulator, or the benchmark's
simulated gateways) and how many charges it keeps in flight.

Which Stripe: every key goes to Stripe itself (``api.stripe.com``, the SDK's default) unless a base URL is
configured (``RV_STRIPE_API_BASE``: the emulator); the emulator's own key with no base URL is refused at start, and
so is a live key with one (the emulator never takes live keys, and its URL is plain http).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from plumbing.settings import ServiceSettings, database_field, port_field

EMULATOR_KEY = "sk_test_localstripe"
"""The key localstripe takes (it accepts any ``sk_test_`` key; Stripe knows none like it)."""

LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_")
"""Live secret and restricted keys: they move real money, so they only ever go to Stripe itself."""


def stripe_api_base(api_key: str, configured_base: str | None) -> str | None:
    """Where Stripe calls go: the configured base URL (the emulator) if there is one, else None (the SDK's
    default, Stripe itself). ``ValueError`` for the emulator's key with no base URL (it would go to Stripe) and
    for a live key with one (it would go to the emulator, possibly over plain http)."""
    if configured_base:
        if api_key.startswith(LIVE_KEY_PREFIXES):
            raise ValueError(
                "RV_STRIPE_API_KEY is a live key but RV_STRIPE_API_BASE is set: the emulator never accepts live "
                "keys; unset RV_STRIPE_API_BASE to charge through Stripe, or use a test key"
            )
        return configured_base
    if api_key == EMULATOR_KEY:
        raise ValueError(
            f"RV_STRIPE_API_KEY is the emulator's key ({EMULATOR_KEY}) but RV_STRIPE_API_BASE is not set: "
            "set RV_STRIPE_API_BASE to the emulator's URL, or RV_STRIPE_API_KEY to a Stripe key"
        )
    return None


@dataclass(frozen=True)
class StripeSettings:
    """The key and, for the emulator, the base URL (None: Stripe itself)."""

    api_key: str = field(repr=False)
    api_base: str | None

    @classmethod
    def from_env(cls) -> StripeSettings:
        """Read ``RV_STRIPE_API_KEY`` and ``RV_STRIPE_API_BASE`` (see :func:`stripe_api_base`)."""
        return PaymentSettings.load().stripe()


GATEWAYS = ("stripe", "instant", "latency")


@dataclass(frozen=True)
class GatewaySettings:
    """Which gateway payment charges through, and how many charges it keeps in flight at once."""

    kind: str
    """``stripe`` (Stripe or its emulator), or the benchmark's in-process ``instant`` or ``latency`` gateway."""
    latency_ms: int
    """The ``latency`` gateway's answer time per call."""
    max_in_flight: int
    """Orders whose commands are handled at the same time (each waiting on the gateway holds no thread)."""

    @classmethod
    def from_env(cls) -> GatewaySettings:
        """Read ``RV_PAYMENT_GATEWAY``, ``RV_PAYMENT_GATEWAY_LATENCY_MS`` and ``RV_PAYMENT_MAX_IN_FLIGHT``."""
        return PaymentSettings.load().gateway()


class PaymentSettings(ServiceSettings):
    """Payment's settings object."""

    service: ClassVar[str] = "payment"
    http_port: int = port_field("payment")
    database_url: str = database_field("payment")
    payment_gateway: Literal["stripe", "instant", "latency"] = Field(
        "stripe",
        description="`stripe`: Stripe or its emulator; `instant` / `latency`: the benchmark's in-process gateway "
        "(never in production), answering at once / after `RV_PAYMENT_GATEWAY_LATENCY_MS`",
    )
    payment_gateway_latency_ms: int = Field(200, ge=0, description="the `latency` gateway's answer time per call")
    payment_max_in_flight: int = Field(
        500, ge=1, description="orders whose commands are handled at once (each waiting on the gateway holds no thread)"
    )
    payment_driver: bool = Field(
        True,
        description="accept each command in the consumer's transaction and answer it once a background driver has "
        "made the Stripe calls, instead of holding the consumer's batch until its slowest charge is made (#16); "
        "`false`: the consumer calls Stripe itself, and the driver still settles the payments accepted before",
    )
    payment_lease_s: float = Field(
        30.0,
        gt=0,
        description="how long an instance holds a payment it drives before another may take it over (renewed "
        "every third of it while its Stripe calls go on)",
    )
    stripe_api_key: SecretStr = Field(
        SecretStr(EMULATOR_KEY),
        description="Stripe secret or restricted key (a Kubernetes Secret in production)",
    )
    stripe_api_base: str | None = Field(
        None,
        pattern=r"^https?://[^/\s]+(/\S*)?$",
        description="the Stripe emulator's URL (e.g. `http://127.0.0.1:8420`); unset: Stripe itself. The local "
        "stack sets it for its localstripe",
    )

    @field_validator("stripe_api_key")
    @classmethod
    def _key_is_given(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _stripe_is_reachable(self) -> Self:
        if self.payment_gateway == "stripe":
            stripe_api_base(self.stripe_api_key.get_secret_value(), self.stripe_api_base)
        return self

    def stripe(self) -> StripeSettings:
        """The key and base URL the Stripe gateway is built with."""
        key = self.stripe_api_key.get_secret_value()
        return StripeSettings(api_key=key, api_base=stripe_api_base(key, self.stripe_api_base))

    def gateway(self) -> GatewaySettings:
        """The gateway's kind, latency and in-flight limit."""
        return GatewaySettings(self.payment_gateway, self.payment_gateway_latency_ms, self.payment_max_in_flight)
