"""Payment's composition root: the one place its adapters (Stripe, the payment store) are chosen and wired."""

from __future__ import annotations

from payment.adapters.payment_store import PaymentStore
from payment.adapters.simulated_gateway import SimulatedGateway
from payment.adapters.stripe_gateway import StripeGateway
from payment.adapters.tables import inbox, outbox
from payment.adapters.unit_of_work import unit_factory
from payment.entrypoints.concurrency import concurrently_by_order
from payment.entrypoints.driver import Driver
from payment.entrypoints.http import PaymentsController
from payment.entrypoints.messages import HANDLERS, accepting, driven_first
from payment.ports import PaymentGateway
from payment.settings import PaymentSettings
from plumbing.db import create_db_engine
from plumbing.wiring import ServiceParts, run_service

HTTP_API = [PaymentsController]


def main() -> None:
    """Run the payment service (``python -m payment``)."""
    # The store commits on an engine of its own, outside the consumer's transaction, before a charge goes on.
    settings = PaymentSettings.load_or_exit()
    store = PaymentStore(create_db_engine(settings.database_url, pool_size=4))
    gateway, max_in_flight = _gateway(settings), settings.gateway().max_in_flight
    # The driver runs whatever RV_PAYMENT_DRIVER says: with it off, it still settles what was accepted with it on.
    driver = Driver(
        gateway,
        instance=settings.instance_id,
        max_in_flight=max_in_flight,
        lease_s=settings.payment_lease_s,
        max_attempts=settings.max_attempts,
    )
    if settings.payment_driver:  # accept in the consumer's transaction; the driver answers (#16)
        routes = accepting(driver)
    else:
        routes = driven_first(concurrently_by_order(HANDLERS, max_in_flight=max_in_flight), driver.wake)
    run_service(
        ServiceParts(
            name="payment",
            outbox=outbox,
            inbox=inbox,
            unit=unit_factory(store, gateway),
            routes=routes,
            http=HTTP_API,
            workers=lambda units: [driver.worker(units)],
            settings=settings,
        )
    )


def _gateway(settings: PaymentSettings) -> PaymentGateway:
    """Stripe (or its emulator), or the benchmark's in-process gateway (``instant`` or ``latency``: no Stripe
    settings needed)."""
    gateway = settings.gateway()
    if gateway.kind == "instant":
        return SimulatedGateway()
    if gateway.kind == "latency":
        return SimulatedGateway(latency_s=gateway.latency_ms / 1000)
    stripe = settings.stripe()
    return StripeGateway(stripe.api_key, stripe.api_base, max_connections=gateway.max_in_flight)
