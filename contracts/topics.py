"""Kafka topic names, their partition counts and what each carries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """A topic: its name, partition count, whether it is log-compacted and what it is for."""

    name: str
    partitions: int
    compacted: bool = False
    purpose: str = ""


CATALOG_COMMANDS = Topic("catalog.commands", 4, purpose="ReserveStock, ReleaseStock; key: saga id")
PAYMENT_COMMANDS = Topic("payment.commands", 4, purpose="ChargePayment, RefundPayment; key: saga id")
ORDERS_COMMANDS = Topic("orders.commands", 4, purpose="ApproveOrder, RejectOrder; key: saga id")
SAGA_REPLIES = Topic("coordinator.replies", 4, purpose="every participant's reply; key: saga id")
ORDER_EVENTS = Topic("orders.events", 4, purpose="OrderPlaced; key: order id")
PRODUCT_EVENTS = Topic("catalog.products", 1, compacted=True, purpose="ProductChanged; key: sku")
DEAD_LETTERS = Topic("deadletter", 1, purpose="messages no consumer could apply, with the reason")

ALL_TOPICS: tuple[Topic, ...] = (
    CATALOG_COMMANDS,
    PAYMENT_COMMANDS,
    ORDERS_COMMANDS,
    SAGA_REPLIES,
    ORDER_EVENTS,
    PRODUCT_EVENTS,
    DEAD_LETTERS,
)
