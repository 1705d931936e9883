"""``ConsumerLoop`` under cooperative rebalances (fake Kafka consumer): a revoke commits the stored offsets of the
partitions taken away and drops their prefetched messages, a lost assignment commits nothing, and the state and
the assigned-partitions gauge follow."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

import sqlalchemy as sa
from confluent_kafka import TopicPartition

from plumbing.consumer import ConsumerLoop
from plumbing.db import messaging_tables
from plumbing.metrics import ASSIGNED_PARTITIONS
from tests.unit.plumbing.fakes import kafka_message

TOPIC = "catalog.commands"
Step = list[Any]
"""What one fetch (``poll`` then ``consume``) sees, in order: messages, and ("assign"|"revoke"|"lost", partitions)."""


class RebalancingConsumer:
    """Plays one step per fetch: rebalance callbacks fire inside the fetch, as librdkafka's do."""

    def __init__(self, steps: list[Step], stop: threading.Event) -> None:
        self.steps, self.stop = steps, stop
        self.callbacks: dict[str, Any] = {}
        self.stored: list[tuple[str, int, int]] = []
        self.commits: list[tuple[list[tuple[str, int, int]] | None, bool]] = []
        self.after_fetch: Callable[[], None] = lambda: None
        self._rest: list[Any] = []

    def subscribe(self, _topics: list[str], **callbacks: Any) -> None:
        self.callbacks = callbacks

    def poll(self, _timeout: float) -> Any:
        if not self.steps:
            self.stop.set()
            return None
        messages = []
        for item in self.steps.pop(0):
            if isinstance(item, tuple):
                kind, partitions = item
                self.callbacks[f"on_{kind}"](self, [TopicPartition(TOPIC, p) for p in partitions])
            else:
                messages.append(item)
        self.after_fetch()
        if not messages:
            return None
        first, *self._rest = messages
        return first

    def consume(self, _n: int, _timeout: float) -> list[Any]:
        rest, self._rest = self._rest, []
        return rest

    def store_offsets(self, offsets: list[TopicPartition]) -> None:
        self.stored += [(tp.topic, tp.partition, tp.offset) for tp in offsets]

    def commit(self, offsets: list[TopicPartition] | None = None, asynchronous: bool = True) -> None:
        self.commits.append(
            ([(tp.topic, tp.partition, tp.offset) for tp in offsets] if offsets else None, asynchronous)
        )

    def close(self) -> None:
        pass

    def assignment(self) -> list[TopicPartition]:
        return []

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return partitions


class Applier:
    def __init__(self) -> None:
        self.batches: list[list[tuple[int, int]]] = []

    def apply(self, batch: list[Any], _stop: threading.Event) -> None:
        self.batches.append([(m.partition(), m.offset()) for m in batch])


def loop_over(steps: list[Step], **options: Any) -> tuple[ConsumerLoop[Any], RebalancingConsumer, threading.Event]:
    stop = threading.Event()
    consumer = RebalancingConsumer(steps, stop)
    loop: ConsumerLoop[Any] = ConsumerLoop(
        service="catalog",
        transactions=cast(Any, None),
        inbox=messaging_tables(sa.MetaData())[1],
        new_consumer=lambda: cast(Any, consumer),
        routes={TOPIC: {}},
        instance="host-1",
        **options,
    )
    return loop, consumer, stop


def run(steps: list[Step], **options: Any) -> tuple[ConsumerLoop[Any], RebalancingConsumer, Applier]:
    loop, consumer, stop = loop_over(steps, **options)
    applier = Applier()
    loop._applier = cast(Any, applier)
    loop.run(stop)
    return loop, consumer, applier


def message(partition: int, offset: int) -> Any:
    return kafka_message(TOPIC, b"{}", partition=partition, offset=offset)


def test_a_revoke_between_batches_commits_the_stored_offsets_of_the_revoked_partitions_only() -> None:
    _loop, consumer, applier = run(
        [[("assign", [0, 1, 2]), message(0, 10), message(1, 20), message(2, 30)], [("revoke", [1, 2])], []]
    )
    assert applier.batches == [[(0, 10), (1, 20), (2, 30)]]
    assert consumer.commits[0] == ([(TOPIC, 1, 21), (TOPIC, 2, 31)], False)
    assert consumer.commits[1] == (None, False)  # the final commit at close


def test_messages_of_partitions_revoked_while_a_batch_was_fetched_are_dropped_and_not_stored() -> None:
    _loop, consumer, applier = run(
        [[("assign", [0, 1]), message(0, 5), message(1, 7), ("revoke", [1]), message(0, 6)], [message(0, 8)]]
    )
    assert applier.batches == [[(0, 5), (0, 6)], [(0, 8)]]
    assert consumer.stored == [(TOPIC, 0, 7), (TOPIC, 0, 9)]
    assert consumer.commits[0] == (None, False)  # nothing was stored for partition 1: nothing to commit at revoke


def test_a_partition_revoked_and_assigned_again_within_one_fetch_keeps_its_messages() -> None:
    _loop, consumer, applier = run([[("assign", [0]), message(0, 5), ("revoke", [0]), ("assign", [0]), message(0, 6)]])
    assert applier.batches == [[(0, 5), (0, 6)]]
    assert consumer.stored == [(TOPIC, 0, 7)]


def test_a_lost_assignment_commits_nothing_and_drops_its_messages() -> None:
    _loop, consumer, applier = run([[("assign", [0, 1]), message(0, 1)], [message(1, 2), ("lost", [1])]])
    assert applier.batches == [[(0, 1)]]
    assert consumer.commits == [(None, False)]  # only the final commit at close, with partition 0's offset
    assert consumer.stored == [(TOPIC, 0, 2)]


def test_state_and_gauge_follow_the_assignment() -> None:
    steps: list[Step] = [[("assign", [0, 1])], [("revoke", [0])], [("lost", [1])], [("assign", [])]]
    loop, consumer, stop = loop_over(steps, rebalance_grace_s=60.0)
    seen: list[tuple[str, list[str], float]] = []

    def watch() -> None:
        snapshot = loop.state.snapshot()
        seen.append(
            (snapshot["state"], snapshot["partitions"], ASSIGNED_PARTITIONS.labels("catalog", "host-1")._value.get())
        )

    consumer.after_fetch = watch
    loop.run(stop)
    assert seen == [
        ("running", [f"{TOPIC}[0]", f"{TOPIC}[1]"], 2.0),
        ("running", [f"{TOPIC}[1]"], 1.0),
        ("unassigned", [], 0.0),
        ("standby", [], 0.0),
    ]
    assert loop.state.state == "stopped"


def test_consumed_topics_with_too_few_partitions_are_reported_not_fatal() -> None:
    loop, _consumer, applier = run(
        [[("assign", [0]), message(0, 1)]],
        check_topics=lambda: {TOPIC: (4, 12), "payment.commands": (0, 12)},
    )
    assert loop.topics == {TOPIC: "4 partitions, configured 12 (python -m infra.topics raise)"}
    assert applier.batches == [[(0, 1)]]
