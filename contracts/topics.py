"""Kafka topic names, their partition counts and what each carries."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

KEYED_PARTITIONS = 12
"""Default partition count of the keyed command, reply and event topics: room for 12 consumers per group."""


@dataclass(frozen=True)
class Topic:
    """A topic: its name, partition count, whether it is log-compacted and what it is for."""

    name: str
    partitions: int
    compacted: bool = False
    purpose: str = ""


CATALOG_COMMANDS = Topic("catalog.commands", KEYED_PARTITIONS, purpose="ReserveStock, ReleaseStock; key: saga id")
PAYMENT_COMMANDS = Topic("payment.commands", KEYED_PARTITIONS, purpose="ChargePayment, RefundPayment; key: saga id")
ORDERS_COMMANDS = Topic("orders.commands", KEYED_PARTITIONS, purpose="ApproveOrder, RejectOrder; key: saga id")
SAGA_REPLIES = Topic("coordinator.replies", KEYED_PARTITIONS, purpose="every participant's reply; key: saga id")
ORDER_EVENTS = Topic("orders.events", KEYED_PARTITIONS, purpose="OrderPlaced; key: order id")
# One partition: one orders instance keeps the shared product view; raising it is safe (the view's upsert keeps
# the highest revision, so no sku goes back even when its key moves to another partition).
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


class PartitionCountError(ValueError):
    """A ``RV_TOPIC_PARTITIONS*`` variable that is not a whole number of at least 1; the message names it."""


def configured_partitions(topic: Topic, environ: Mapping[str, str] = os.environ) -> int:
    """The partition count wanted for ``topic``: ``RV_TOPIC_PARTITIONS_<NAME>`` (name upper-cased, dots as
    underscores), else ``RV_TOPIC_PARTITIONS`` for the keyed topics at the default, else its own count.
    ``PartitionCountError`` for a value that is not an integer >= 1."""
    own = "RV_TOPIC_PARTITIONS_" + topic.name.upper().replace(".", "_")
    if own in environ:
        return _partitions(own, environ[own])
    if "RV_TOPIC_PARTITIONS" in environ and topic.partitions == KEYED_PARTITIONS:
        return _partitions("RV_TOPIC_PARTITIONS", environ["RV_TOPIC_PARTITIONS"])
    return topic.partitions


def _partitions(variable: str, value: str) -> int:
    count = int(value) if value.strip().isdecimal() else 0
    if count < 1:
        raise PartitionCountError(f"{variable}={value!r}: expected an integer >= 1")
    return count


def by_name(name: str) -> Topic:
    """The topic called ``name``; ``KeyError`` for any other."""
    for topic in ALL_TOPICS:
        if topic.name == name:
            return topic
    raise KeyError(name)
