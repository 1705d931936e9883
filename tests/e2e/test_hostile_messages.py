"""Hostile bytes on every consumed topic while real orders flow: nothing stops a consumer, each hostile message
is dead-lettered exactly once (found by its original topic, partition and offset), and the orders' invariants
hold (``tests/faults/harness.check_invariants``: every order decided, stock conserved, one charge per approved
order).

Over 2,000 messages: a fixed corpus (2,000-level nesting, sizes near and over the limits, NUL and invalid UTF-8
in keys, headers and values, wrong types, huge numbers, unknown types, over-long ids, valid commands for orders
that do not exist) on each topic, and hypothesis' bytes, JSON and envelope-shaped values.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka import Message as KafkaMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.topics import (
    CATALOG_COMMANDS,
    DEAD_LETTERS,
    ORDER_EVENTS,
    ORDERS_COMMANDS,
    PAYMENT_COMMANDS,
    PRODUCT_EVENTS,
    SAGA_REPLIES,
)
from infra import kafka, services
from plumbing.escaping import ESCAPED, unescape
from plumbing.routing import headers_of
from tests.faults.harness import begin, check_invariants, during, restock, settle
from tests.support import api, wait_for

TOPICS = [t.name for t in (CATALOG_COMMANDS, PAYMENT_COMMANDS, ORDERS_COMMANDS, SAGA_REPLIES, ORDER_EVENTS)]
TOPICS.append(PRODUCT_EVENTS.name)
GENERATED = 2000
ORDERS = 30
OVER_LIMIT = 1_040_000  # over the consumers' 1,000,000-byte limit, under the broker's 1,048,588
NEAR_LIMIT = 998_000  # just under the default producer's 1,000,000 (with key and headers)
WIRE_TYPE = {
    CATALOG_COMMANDS.name: "ReserveStock",
    PAYMENT_COMMANDS.name: "ChargePayment",
    ORDERS_COMMANDS.name: "ApproveOrder",
    SAGA_REPLIES.name: "StockReserved",
    ORDER_EVENTS.name: "OrderPlaced",
    PRODUCT_EVENTS.name: "ProductChanged",
}


@dataclass(frozen=True)
class Hostile:
    """One message to produce as it is."""

    topic: str
    value: bytes | None
    key: bytes | None = b"hostile"
    headers: tuple[tuple[str | bytes, bytes | None], ...] = ()


def envelope(topic: str, fields: dict[str, Any], **changes: Any) -> bytes:
    """A well-formed envelope (ids, time, type) around a payload of ``fields``, with ``changes``."""
    kind = WIRE_TYPE[topic]
    body = {
        "message_id": str(uuid.uuid4()),
        "type": kind,
        "schema_version": 2,
        "correlation_id": "hostile",
        "saga_id": str(uuid.uuid4()),
        "occurred_at": "2026-01-01T00:00:00Z",
        "payload": {"type": kind, **fields},
        **changes,
    }
    return json.dumps(body).encode()


def corpus(topic: str) -> list[Hostile]:
    """The fixed hostile messages for one topic."""
    deep = b"[" * 2000 + b"]" * 2000
    long_id = uuid.uuid4().hex * 320  # 10 KB, random enough not to compress under the btree's limit
    return [
        Hostile(topic, deep),
        Hostile(topic, b'{"message_id":' + b'{"a":' * 2000 + b"1" + b"}" * 2000 + b"}"),
        Hostile(topic, envelope(topic, {}, payload="@").replace(b'"@"', deep)),  # a valid envelope, deep payload
        Hostile(topic, b'"' + b"x" * NEAR_LIMIT + b'"'),
        Hostile(topic, envelope(topic, {"order_id": "x" * OVER_LIMIT})),
        Hostile(topic, b"\x00\x00\x00", key=b"\x00key\x00", headers=(("h", b"\x00"), ("nul", b"a\x00b"))),
        Hostile(topic, b"\xff\xfe{", key=b"\xff\xfe", headers=(("h", b"\xc3("), ("x", None))),
        Hostile(topic, b"{}", headers=((b"\xff\xfe", b"a header name that is not UTF-8"),)),
        Hostile(topic, b'{"message_id": "\x00"}', headers=(("a\x00b", b"nul in a name"),)),
        Hostile(topic, envelope(topic, {"order_id": 5}, message_id=7, type=[], correlation_id={})),
        Hostile(topic, envelope(topic, {"order_id": "x", "amount_cents": 10**400}, schema_version=10**400)),
        Hostile(topic, envelope(topic, {"order_id": "x"}, occurred_at=1e999)),
        Hostile(topic, envelope(topic, {"type": "NoSuchType"}, type="NoSuchType")),
        Hostile(topic, envelope(topic, {"order_id": long_id, "lines": [{"sku": "NES-SMB3", "quantity": 1}]})),
        Hostile(topic, envelope(topic, {"order_id": "x"}, correlation_id=long_id)),
        Hostile(topic, None),
        Hostile(topic, b""),
    ]


def unknown_orders() -> list[Hostile]:
    """Valid messages their consumer refuses: an order orders never saw, a reply to a saga that never was."""
    return [
        Hostile(ORDERS_COMMANDS.name, envelope(ORDERS_COMMANDS.name, {"order_id": f"no-such-order-{uuid.uuid4()}"})),
        Hostile(SAGA_REPLIES.name, envelope(SAGA_REPLIES.name, {"order_id": f"no-such-order-{uuid.uuid4()}"})),
    ]


_NAMES = st.text(alphabet="abcdefghij-", min_size=1, max_size=8)
_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_JSON = st.recursive(_LEAVES, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4))
_ENVELOPES = st.fixed_dictionaries(
    {
        "message_id": st.uuids().map(str) | st.text(max_size=10) | st.integers(),
        "type": st.sampled_from(sorted(WIRE_TYPE.values())) | st.text(max_size=10),
        "schema_version": st.integers(),
        "correlation_id": st.text(max_size=70),
        "saga_id": st.uuids().map(str) | st.none(),
        "occurred_at": st.integers(),  # never a valid time: no generated envelope can be applied
        "payload": _JSON,
    }
)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8", "surrogatepass")


HOSTILE = st.builds(
    Hostile,
    topic=st.sampled_from(TOPICS),
    value=st.binary(max_size=300) | _JSON.map(_json) | _ENVELOPES.map(_json) | st.none(),
    key=st.none() | st.binary(max_size=40),
    headers=st.lists(st.tuples(_NAMES, st.binary(max_size=40) | st.none()), max_size=3).map(tuple),
)


def generated(count: int) -> list[Hostile]:
    """``count`` messages drawn by hypothesis (deterministically)."""
    drawn: list[Hostile] = []
    checks = list(HealthCheck)
    run = settings(max_examples=count, derandomize=True, database=None, deadline=None, suppress_health_check=checks)

    def draw(message: Hostile) -> None:
        drawn.append(message)

    run(given(HOSTILE)(draw))()
    assert len(drawn) == count
    return drawn


def keyed(message: Hostile) -> Hostile:
    """The compacted topic refuses messages without key; keep its real keys (skus) apart from ours."""
    if message.topic != PRODUCT_EVENTS.name:
        return message
    return Hostile(message.topic, message.value, b"hostile-" + (message.key or b""), message.headers)


def produce(messages: list[Hostile]) -> dict[tuple[str, int, int], Hostile]:
    """Produce every message as it is; returns each one by the position Kafka gave it."""
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers(), "message.max.bytes": 1_048_000})
    placed: dict[tuple[str, int, int], Hostile] = {}
    failed: list[str] = []

    def delivered(message: Hostile) -> Callable[[Any, KafkaMessage], None]:
        def report(error: Any, record: KafkaMessage) -> None:
            if error is not None:
                failed.append(f"{message.topic}: {error}")
            else:
                placed[(record.topic() or "", record.partition() or 0, record.offset() or 0)] = message

        return report

    for message in messages:
        headers: Any = list(message.headers)
        producer.produce(message.topic, message.value, key=message.key, headers=headers, on_delivery=delivered(message))
        producer.poll(0)
    assert producer.flush(60) == 0 and not failed, failed
    return placed


class DeadLetters:
    """Reads the dead letters written from now on."""

    def __init__(self) -> None:
        self.consumer = Consumer(
            {"bootstrap.servers": kafka.bootstrap_servers(), "group.id": f"hostile-{uuid.uuid4()}"}
        )
        _low, high = self.consumer.get_watermark_offsets(TopicPartition(DEAD_LETTERS.name, 0), timeout=10)
        self.consumer.assign([TopicPartition(DEAD_LETTERS.name, 0, high)])
        self.read: list[KafkaMessage] = []

    def poll(self) -> list[KafkaMessage]:
        self.read += [m for m in self.consumer.consume(500, 0.5) if not m.error()]
        return self.read

    def to_the_end(self) -> list[KafkaMessage]:
        _low, high = self.consumer.get_watermark_offsets(TopicPartition(DEAD_LETTERS.name, 0), timeout=10)
        wait_for(lambda: self.poll() and (self.read[-1].offset() or 0) + 1 >= high, what="the dead letters' end")
        self.consumer.close()
        return self.read


def origin(letter: KafkaMessage) -> tuple[str, int, int]:
    headers = headers_of(letter)
    return headers["dlq.topic"], int(headers["dlq.partition"]), int(headers["dlq.offset"])


def consumers() -> dict[str, dict[str, Any]]:
    return {name: api(name).get("/health").json()["consumer"] for name in services.SERVICES}


def test_hostile_messages_on_every_topic_stop_nothing_and_are_dead_lettered_once() -> None:
    restock()
    messages = [keyed(m) for m in [*(m for t in TOPICS for m in corpus(t)), *unknown_orders(), *generated(GENERATED)]]
    pids = {name: services.pid(name) for name in services.SERVICES}
    counted = consumers()
    letters = DeadLetters()
    placed: dict[tuple[str, int, int], Hostile] = {}
    run = begin()
    during(run, ORDERS, lambda _run: placed.update(produce(messages)))
    check_invariants(run, settle(run), dead_letters_sent=None)  # every dead letter is accounted for below

    wait_for(lambda: placed.keys() <= {origin(m) for m in letters.poll()}, timeout_s=120, what="every dead letter")
    every = letters.to_the_end()
    ours = [m for m in every if origin(m) in placed]
    assert Counter(origin(m) for m in ours) == dict.fromkeys(placed, 1)  # each exactly once
    for letter in ours:
        sent, headers = placed[origin(letter)], headers_of(letter)
        assert headers["dlq.reason"]
        if "dlq.truncated" in headers:
            assert (sent.value or b"").startswith(letter.value() or b"") and len(sent.value or b"") > 900_000
        else:
            assert (letter.value() or b"") == (sent.value or b"")
            key = letter.key()
            assert (unescape(key.decode()) if ESCAPED in headers and key is not None else key) == sent.key

    assert {name: services.pid(name) for name in services.SERVICES} == pids  # nobody restarted
    after = consumers()
    assert all(api(name).get("/health").status_code == 200 for name in services.SERVICES)
    assert all(after[name]["lost"] == 0 for name in services.SERVICES)
    dead = sum(after[name]["dead_lettered"] - counted[name]["dead_lettered"] for name in services.SERVICES)
    assert dead == len(every)  # every dead letter on the topic is one the services counted
