"""Payment's own settings: which Stripe to talk to."""

from __future__ import annotations

from dataclasses import dataclass

from plumbing.settings import env

EMULATOR_KEY = "sk_test_localstripe"


@dataclass(frozen=True)
class StripeSettings:
    """Real Stripe test mode when a real ``sk_test_`` key is given and no API base; else the emulator."""

    api_key: str
    api_base: str | None

    @classmethod
    def from_env(cls) -> StripeSettings:
        """Read ``RV_STRIPE_API_KEY`` and ``RV_STRIPE_API_BASE`` (default: localstripe on the local stack)."""
        key = env("RV_STRIPE_API_KEY", EMULATOR_KEY)
        real = key.startswith("sk_test_") and key != EMULATOR_KEY and not env("RV_STRIPE_API_BASE", "")
        base = None if real else env("RV_STRIPE_API_BASE", f"http://127.0.0.1:{env('RV_STRIPE_PORT', '8420')}")
        return cls(api_key=key, api_base=base)
