"""The outbox relay also publishes rows nobody handed to it: another process's, or a crashed one's."""

from __future__ import annotations

from catalog.adapters.tables import outbox as catalog_outbox
from catalog.adapters.unit_of_work import SqlCatalogUnitOfWork
from contracts.catalog import ProductChanged
from contracts.envelope import wrap
from contracts.topics import PRODUCT_EVENTS
from plumbing.unit_of_work import Transactions
from tests.support import api, database, query, wait_for


def test_a_row_committed_outside_the_service_is_found_published_and_deleted() -> None:
    sku = "SNES-ALTTP"
    product = api("catalog").get(f"/products/{sku}").json()
    # The product's current state again (same revision): orders applies it and nothing changes.
    fields = {name: product[name] for name in ProductChanged.__struct_fields__}
    envelope = wrap(ProductChanged(**fields), correlation_id=sku)
    units = Transactions(database("catalog"), catalog_outbox, SqlCatalogUnitOfWork)  # no relay: commit only
    with units.begin() as uow:
        uow.publish(PRODUCT_EVENTS, envelope, key=sku)
    (row,) = uow.written

    def consumed_by_orders() -> bool:
        return bool(query("orders", "SELECT 1 FROM inbox WHERE message_id = :id", id=envelope.message_id))

    wait_for(consumed_by_orders, timeout_s=20, what="orders to consume the row the catalog's relay found")
    wait_for(
        lambda: not query("catalog", "SELECT 1 FROM outbox WHERE id = :id", id=row.id),
        timeout_s=10,
        what="the published row to leave the catalog's outbox",
    )
    assert api("catalog").get(f"/products/{sku}").json()["revision"] == product["revision"]
