"""Simultaneous ``POST /orders`` with one Idempotency-Key and one body: every answer is 202 with the same order,
which is stored once, announced once (one OrderPlaced, one saga) and charged once."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from confluent_kafka import Consumer, TopicPartition

from contracts.topics import ORDER_EVENTS
from infra import kafka
from plumbing.settings import service_url
from tests.support import payment_intents, query, saga_of, settled_order, settled_saga, stock

SIMULTANEOUS = 10
SKU = "PS1-GT2"


def _ends(consumer: Consumer) -> dict[int, int]:
    """Each partition of the order events topic and its next offset."""
    partitions = consumer.list_topics(ORDER_EVENTS.name, timeout=10).topics[ORDER_EVENTS.name].partitions
    return {p: consumer.get_watermark_offsets(TopicPartition(ORDER_EVENTS.name, p), timeout=10)[1] for p in partitions}


def _events_keyed(consumer: Consumer, key: str, since: dict[int, int]) -> int:
    """How many order events keyed ``key`` (the order id) were published after the offsets ``since``."""
    ends = _ends(consumer)
    todo = {p for p in ends if since.get(p, 0) < ends[p]}
    consumer.assign([TopicPartition(ORDER_EVENTS.name, p, since.get(p, 0)) for p in todo])
    found = 0
    while todo:
        message = consumer.poll(10.0)
        assert message is not None, f"could not read {ORDER_EVENTS.name} partitions {todo} to their end"
        if message.error():
            continue
        found += message.key() == key.encode()
        if (message.offset() or 0) + 1 >= ends[message.partition() or 0]:
            todo.discard(message.partition() or 0)
    return found


def _fire_together(bodies: list[dict[str, Any]], key: str) -> list[httpx.Response]:
    """One request per body, each on a warmed-up connection of its own, released at once by a barrier."""
    clients = [httpx.Client(base_url=service_url("orders"), timeout=30.0) for _ in bodies]
    for client in clients:
        client.get("/health")  # connect now, so the barrier releases requests, not handshakes
    barrier = threading.Barrier(len(bodies))

    def post(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
        barrier.wait(timeout=30)
        return client.post("/orders", json=body, headers={"Idempotency-Key": key})

    try:
        with ThreadPoolExecutor(len(bodies)) as pool:
            return list(pool.map(post, clients, bodies))
    finally:
        for client in clients:
            client.close()


def _body(customer: str, quantity: int = 1) -> dict[str, Any]:
    return {"customer_id": customer, "items": [{"sku": SKU, "quantity": quantity}], "payment_method": "pm_card_visa"}


def _orders_of(customer: str) -> list[str]:
    return [row.order_id for row in query("orders", "SELECT order_id FROM orders WHERE customer_id = :c", c=customer)]


def test_simultaneous_requests_with_one_key_get_one_order_announced_and_charged_once() -> None:
    key, customer = f"race-{uuid.uuid4()}", f"racer-{uuid.uuid4()}"
    before = stock(SKU)
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers(), "group.id": f"race-{uuid.uuid4()}"})
    try:
        since = _ends(consumer)
        responses = _fire_together([_body(customer)] * SIMULTANEOUS, key)

        assert [r.status_code for r in responses] == [202] * SIMULTANEOUS, [r.text for r in responses]
        order_ids = {r.json()["order_id"] for r in responses}
        assert len(order_ids) == 1
        (order_id,) = order_ids
        assert _orders_of(customer) == [order_id]
        assert settled_order(order_id)["status"] == "APPROVED"
        assert settled_saga(order_id)["state"] == "COMPLETED"
        assert saga_of(order_id)["order_id"] == order_id  # exactly one saga (saga_of asserts it)
        assert _events_keyed(consumer, order_id, since) == 1  # one OrderPlaced
    finally:
        consumer.close()
    assert stock(SKU) == before - 1
    assert [pi.status for pi in payment_intents(order_id)] == ["succeeded"]


def test_simultaneous_requests_with_one_key_and_two_bodies_get_the_stored_order_or_409() -> None:
    key, customer = f"race-{uuid.uuid4()}", f"racer-{uuid.uuid4()}"
    quantities = [1 + n % 2 for n in range(SIMULTANEOUS)]  # half ask for one unit, half for two

    responses = _fire_together([_body(customer, q) for q in quantities], key)

    (order_id,) = _orders_of(customer)
    (stored,) = query("orders", "SELECT quantity FROM order_lines WHERE order_id = :o", o=order_id)
    expected = [202 if q == stored.quantity else 409 for q in quantities]
    assert [r.status_code for r in responses] == expected, [r.text for r in responses]
    assert {r.json()["order_id"] for r in responses if r.status_code == 202} == {order_id}
    assert {r.json()["errors"][0]["field"] for r in responses if r.status_code == 409} == {"Idempotency-Key"}
