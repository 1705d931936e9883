"""Group commit at the front door: 50 simultaneous ``POST /orders`` are each answered 202 with an order of their
own, stored once and announced once in its own request's trace, while they share fewer transactions than there
are orders."""

from __future__ import annotations

import secrets
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from confluent_kafka import Consumer, TopicPartition

from contracts.topics import ORDER_EVENTS
from infra import kafka
from plumbing.routing import headers_of
from plumbing.settings import service_url
from tests.e2e.test_idempotency_race import _ends
from tests.e2e.test_metrics import _sample
from tests.support import query, wait_for

SIMULTANEOUS = 50


def _published(consumer: Consumer, since: dict[int, int]) -> list[tuple[str, str]]:
    """The key and trace id of each order event published after the offsets ``since``, every partition read to
    its end."""
    ends = _ends(consumer)
    todo = {p for p in ends if since.get(p, 0) < ends[p]}
    consumer.assign([TopicPartition(ORDER_EVENTS.name, p, since.get(p, 0)) for p in todo])
    keys: list[tuple[str, str]] = []
    while todo:
        message = consumer.poll(10.0)
        assert message is not None, f"could not read {ORDER_EVENTS.name} partitions {todo} to their end"
        if message.error():
            continue
        traceparent = headers_of(message).get("traceparent", "")
        keys.append(((message.key() or b"").decode(), traceparent[3:35]))
        if (message.offset() or 0) + 1 >= ends[message.partition() or 0]:
            todo.discard(message.partition() or 0)
    return keys


def _post_together(customer: str, trace_ids: list[str]) -> list[httpx.Response]:
    """One request per trace id, each on a warmed-up connection of its own, released at once by a barrier."""
    count = len(trace_ids)
    clients = [httpx.Client(base_url=service_url("orders"), timeout=30.0) for _ in range(count)]
    for client in clients:
        client.get("/health")  # connect now, so the barrier releases requests, not handshakes
    barrier = threading.Barrier(count)
    body = {"customer_id": customer, "items": [{"sku": "ARC-PACMAN", "quantity": 1}], "payment_method": "pm_card_visa"}

    def post(client: httpx.Client, trace_id: str) -> httpx.Response:
        barrier.wait(timeout=30)
        return client.post("/orders", json=body, headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})

    try:
        with ThreadPoolExecutor(count) as pool:
            return list(pool.map(post, clients, trace_ids))
    finally:
        for client in clients:
            client.close()


def test_simultaneous_orders_share_transactions_and_each_is_stored_and_announced_once() -> None:
    customer = f"group-{uuid.uuid4()}"
    groups = _sample("orders", "rv_group_commit_batch_size_count", group="orders")
    grouped = _sample("orders", "rv_group_commit_batch_size_sum", group="orders")
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers(), "group.id": f"group-{uuid.uuid4()}"})
    try:
        since = _ends(consumer)
        trace_ids = [secrets.token_hex(16) for _ in range(SIMULTANEOUS)]
        responses = _post_together(customer, trace_ids)

        assert [r.status_code for r in responses] == [202] * SIMULTANEOUS, [r.text for r in responses]
        order_ids = {r.json()["order_id"] for r in responses}
        assert len(order_ids) == SIMULTANEOUS
        stored = query("orders", "SELECT order_id FROM orders WHERE customer_id = :c", c=customer)
        assert {row.order_id for row in stored} == order_ids and len(stored) == SIMULTANEOUS
        wait_for(
            lambda: (
                query("orders", "SELECT count(*) AS n FROM outbox WHERE key = ANY(:k)", k=list(order_ids))[0].n == 0
            ),
            what="the orders' OrderPlaced to be published",
        )
        announced = [(key, trace) for key, trace in _published(consumer, since) if key in order_ids]
        assert sorted(key for key, _ in announced) == sorted(order_ids)  # one OrderPlaced each
        trace_of = {r.json()["order_id"]: trace_id for r, trace_id in zip(responses, trace_ids, strict=True)}
        assert dict(announced) == trace_of  # each in its own request's trace, not its group leader's
    finally:
        consumer.close()
    assert _sample("orders", "rv_group_commit_batch_size_sum", group="orders") - grouped == SIMULTANEOUS
    assert _sample("orders", "rv_group_commit_batch_size_count", group="orders") - groups < SIMULTANEOUS
