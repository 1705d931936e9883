"""Payment's composition root: the one place its adapters (Stripe, the payment store) are chosen and wired."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from payment.adapters.instant_gateway import InstantGateway
from payment.adapters.payment_store import PaymentStore
from payment.adapters.stripe_gateway import StripeGateway
from payment.adapters.tables import inbox, outbox
from payment.adapters.unit_of_work import unit_factory
from payment.entrypoints.concurrency import concurrently_by_order
from payment.entrypoints.http import PaymentsController
from payment.entrypoints.messages import ROUTES
from payment.ports import PaymentGateway
from payment.settings import StripeSettings
from plumbing.db import create_db_engine
from plumbing.settings import ServiceSettings, env
from plumbing.wiring import ServiceParts, run_service

HTTP_API = [PaymentsController]


def main() -> None:
    """Run the payment service (``python -m payment``)."""
    # The store commits each change at once on an engine of its own, outside the consumer's transaction.
    store = PaymentStore(create_db_engine(ServiceSettings.from_env("payment").database_url, pool_size=4))
    run_service(
        ServiceParts(
            name="payment",
            outbox=outbox,
            inbox=inbox,
            unit=unit_factory(store, _gateway()),
            routes=concurrently_by_order(ROUTES, ThreadPoolExecutor(8, "stripe")),
            http=HTTP_API,
        )
    )


def _gateway() -> PaymentGateway:
    """Stripe (or its emulator), or with ``RV_PAYMENT_GATEWAY=instant`` the benchmark's in-process gateway."""
    if env("RV_PAYMENT_GATEWAY", "stripe") == "instant":
        return InstantGateway()
    settings = StripeSettings.from_env()
    return StripeGateway(settings.api_key, settings.api_base)
