"""Crashes, outages, duplicates and garbage while orders are in flight; then every invariant holds."""

from __future__ import annotations

import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from contracts.topics import (
    CATALOG_COMMANDS,
    DEAD_LETTERS,
    ORDER_EVENTS,
    ORDERS_COMMANDS,
    PAYMENT_COMMANDS,
    PRODUCT_EVENTS,
    SAGA_REPLIES,
)
from infra import kafka, localstripe, postgres, services
from plumbing.routing import headers_of
from tests.faults.harness import Run, begin, check_invariants, during, expected_statuses, settle
from tests.restocking import set_available
from tests.support import api, place_order, query, settled_order, wait_for

pytestmark = pytest.mark.faults

ORDERS = 60


def _restart(name: str) -> None:
    services.start(name)
    services.wait_healthy(name)


def test_coordinator_killed_at_random_moments() -> None:
    moments = sorted(random.Random(11).sample(range(5, ORDERS - 5), 3))

    def fault(run: Run) -> None:
        for moment in moments:
            run.wait_placed(moment)
            services.kill("coordinator")
            services.start("coordinator")  # no wait: the next kill may hit it while it starts
        services.wait_healthy("coordinator")

    run = begin()
    during(run, ORDERS, fault)
    settled = settle(run)
    check_invariants(run, settled)
    assert {o.order_id: o.status for o in settled} == expected_statuses(settled)


def test_each_participant_killed_mid_stream() -> None:
    def fault(run: Run) -> None:
        for moment, name in ((10, "catalog"), (25, "payment"), (40, "orders")):
            run.wait_placed(moment)
            services.kill(name)
            _restart(name)

    run = begin()
    during(run, ORDERS, fault)
    check_invariants(run, settle(run))


def test_kafka_broker_killed_and_restarted() -> None:
    def fault(run: Run) -> None:
        run.wait_placed(15)
        kafka.kill()
        kafka.start()

    run = begin()
    during(run, ORDERS, fault)
    check_invariants(run, settle(run))


def test_postgres_restarted_in_immediate_mode_under_load() -> None:
    def fault(run: Run) -> None:
        run.wait_placed(15)
        postgres.restart_immediate()

    run = begin()
    during(run, ORDERS, fault)
    check_invariants(run, settle(run))
    assert run.accepted, "orders were accepted around the restart"


def test_stripe_unreachable_for_a_while() -> None:
    def fault(run: Run) -> None:
        run.wait_placed(10)
        localstripe.kill()
        run.wait_placed(30)  # the stream goes on while Stripe is down
        localstripe.start()

    run = begin()
    during(run, ORDERS, fault)
    check_invariants(run, settle(run))


def _copy_messages(topics: list[str], since_ms: int) -> int:
    """Re-publish every message the topics received since ``since_ms``, as a duplicate delivery would."""
    consumer = Consumer(
        {"bootstrap.servers": kafka.bootstrap_servers(), "group.id": f"dup-{uuid.uuid4()}", "enable.auto.commit": False}
    )
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers()})
    copied = 0
    try:
        metadata = consumer.list_topics(timeout=10)
        partitions = [TopicPartition(t, p, since_ms) for t in topics for p in metadata.topics[t].partitions]
        starts = consumer.offsets_for_times(partitions, timeout=10)
        ends = {(tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions}
        todo = {(tp.topic, tp.partition) for tp in starts if 0 <= tp.offset < ends[(tp.topic, tp.partition)]}
        consumer.assign([tp for tp in starts if (tp.topic, tp.partition) in todo])
        while todo:
            message = consumer.poll(5.0)
            assert message is not None, f"could not read back {todo}"
            if message.error():
                continue
            topic, partition, offset = message.topic() or "", message.partition() or 0, message.offset() or 0
            producer.produce(topic, message.value(), message.key(), headers=message.headers())
            copied += 1
            if offset + 1 >= ends[(topic, partition)]:
                todo.discard((topic, partition))
        producer.flush(30)
    finally:
        consumer.close()
    return copied


def test_duplicate_commands_and_replies_change_nothing() -> None:
    run = begin()
    since_ms = int(run.started_at.timestamp() * 1000)
    during(run, 30, lambda _run: None)
    orders = settle(run)
    before = check_invariants(run, orders)
    duplicates_before = sum(int(api(s).get("/health").json()["consumer"]["duplicates"]) for s in services.SERVICES)
    topics = [CATALOG_COMMANDS.name, PAYMENT_COMMANDS.name, ORDERS_COMMANDS.name, SAGA_REPLIES.name, ORDER_EVENTS.name]
    copied = _copy_messages(topics, since_ms)
    assert copied >= 30 * 4

    def all_seen() -> bool:
        total = sum(int(api(s).get("/health").json()["consumer"]["duplicates"]) for s in services.SERVICES)
        return total - duplicates_before >= copied

    wait_for(all_seen, timeout_s=60, what="every copy to be recognised as a duplicate")
    assert check_invariants(run, settle(run)) == before


def _dead_letters_with(marker: str, expected: int) -> list[dict[str, str]]:
    consumer = Consumer(
        {
            "bootstrap.servers": kafka.bootstrap_servers(),
            "group.id": f"dlq-check-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([DEAD_LETTERS.name])
    found: list[dict[str, str]] = []

    def read() -> bool:
        # The topic holds every dead letter of the run (thousands from the hostile-message suite): read in bulk.
        for message in consumer.consume(1000, 0.5):
            if message.error():
                continue
            headers = headers_of(message)
            if headers.get("test-marker") == marker:
                found.append(headers | {"value": (message.value() or b"").decode("utf-8", "replace")})
        return len(found) >= expected

    try:
        wait_for(read, timeout_s=60, what=f"{expected} dead letters marked {marker}")
    finally:
        consumer.close()
    return found


def test_garbage_and_invalid_messages_go_to_the_dead_letter_topic() -> None:
    marker = str(uuid.uuid4())
    invalid_envelope = (
        b'{"message_id":"%s","type":"ReserveStock","schema_version":1,"correlation_id":"x",'
        b'"occurred_at":"2026-01-01T00:00:00Z","payload":{"type":"ReserveStock","order_id":"x",'
        b'"lines":[{"sku":"NES-SMB3","quantity":0}]}}' % str(uuid.uuid4()).encode()
    )
    bodies = [b"\x00\xff garbage", b"{}", b"[1,2,3]", invalid_envelope]
    topics = [
        CATALOG_COMMANDS.name,
        PAYMENT_COMMANDS.name,
        ORDERS_COMMANDS.name,
        SAGA_REPLIES.name,
        ORDER_EVENTS.name,
        PRODUCT_EVENTS.name,
    ]
    dead_before = sum(int(api(s).get("/health").json()["consumer"]["dead_lettered"]) for s in services.SERVICES)
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers()})
    run = begin()

    def fault(_run: Run) -> None:
        for topic in topics:
            for body in bodies:
                producer.produce(topic, body, key=b"poison", headers=[("test-marker", marker.encode())])
        producer.flush(10)

    during(run, 20, fault)
    check_invariants(run, settle(run), dead_letters_sent=len(topics) * len(bodies))
    letters = _dead_letters_with(marker, len(topics) * len(bodies))
    assert {(h["dlq.topic"], h["value"]) for h in letters} == {
        (t, b.decode("utf-8", "replace")) for t in topics for b in bodies
    }
    assert all(h["dlq.reason"].startswith("invalid message") for h in letters)
    dead_after = sum(int(api(s).get("/health").json()["consumer"]["dead_lettered"]) for s in services.SERVICES)
    assert dead_after - dead_before == len(letters)


def test_many_concurrent_orders_for_the_last_units() -> None:
    sku, units, buyers = "SAT-NIGHTS", 5, 30
    set_available(sku, units)
    wait_for(
        lambda: query("orders", "SELECT stock FROM product_view WHERE sku = :s", s=sku)[0].stock == units,
        what="orders' view to see the stock",
    )
    with ThreadPoolExecutor(max_workers=buyers) as pool:
        responses = list(pool.map(lambda i: place_order([(sku, 1)], customer=f"buyer-{i}"), range(buyers)))
    assert all(r.status_code == 202 for r in responses)
    decided = [settled_order(r.json()["order_id"], timeout_s=120) for r in responses]
    assert sum(o["status"] == "APPROVED" for o in decided) == units
    assert all("out of stock" in o["reason"] for o in decided if o["status"] == "REJECTED")
    assert query("catalog", "SELECT stock FROM products WHERE sku = :s", s=sku)[0].stock == 0


def test_graceful_shutdown_drains_the_outbox_and_restart_continues() -> None:
    drained: dict[str, int] = {}

    def fault(run: Run) -> None:
        for moment, name in ((10, "coordinator"), (30, "catalog")):
            run.wait_placed(moment)
            services.stop(name)  # SIGTERM
            drained[name] = query(name, "SELECT count(*) AS n FROM outbox")[0].n
            _restart(name)

    run = begin()
    during(run, 50, fault)
    assert drained == {"coordinator": 0, "catalog": 0}, "a stopped service left unsent messages"
    check_invariants(run, settle(run))
