"""Payment's composition root: the one place its adapters (Stripe, the payment store) are wired."""

from __future__ import annotations

from payment.adapters.instant_gateway import InstantGateway
from payment.adapters.payment_store import PaymentStore
from payment.adapters.stripe_gateway import StripeGateway
from payment.adapters.tables import inbox, outbox
from payment.app import get_payment
from payment.domain.gateway import PaymentGateway
from payment.handlers import build_routes
from payment.settings import StripeSettings
from plumbing.db import create_db_engine
from plumbing.settings import ServiceSettings, env
from plumbing.wiring import run_service

HTTP_API = [get_payment]


def main() -> None:
    """Run the payment service (``python -m payment``)."""
    gateway: PaymentGateway
    if env("RV_PAYMENT_GATEWAY", "stripe") == "instant":  # benchmark mode: no Stripe in the loop
        gateway = InstantGateway()
    else:
        stripe_settings = StripeSettings.from_env()
        gateway = StripeGateway(stripe_settings.api_key, stripe_settings.api_base)
    store = PaymentStore(create_db_engine(ServiceSettings.from_env("payment").database_url, pool_size=4))
    run_service("payment", (outbox, inbox), build_routes(store, gateway), HTTP_API)
