"""``ConsumerLoop``: offsets stored only after a batch is applied, outages retried, a fenced consumer replaced,
and what it is doing always in its ``state`` (fake Kafka consumer, fake applier)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

import pytest
import sqlalchemy as sa
from confluent_kafka import KafkaError, TopicPartition

from plumbing.consumer import ConsumerLoop
from plumbing.db import messaging_tables
from plumbing.errors import RetryLater
from tests.unit.plumbing.fakes import FakeKafkaMessage, kafka_message

TOPIC = "catalog.commands"


class FatalMessage(FakeKafkaMessage):
    def error(self) -> Any:
        return KafkaError(KafkaError._FATAL, "Fatal error: FENCED_INSTANCE_ID", fatal=True)


class FakeKafkaConsumer:
    """Hands out scripted batches (a list of messages, or an exception to raise), then sets ``stop``."""

    def __init__(self, script: list[Any], stop: threading.Event, states: list[str], state: Callable[[], str]) -> None:
        self.script, self.stop, self.states, self.state = script, stop, states, state
        self.stored: list[list[tuple[str, int, int]]] = []
        self.closed = False
        self._rest: list[Any] = []

    def subscribe(self, topics: list[str], **callbacks: Any) -> None:
        self.states.append(self.state())
        callbacks["on_assign"](self, [TopicPartition(topic, 0) for topic in topics])
        self.states.append(self.state())

    def poll(self, _timeout: float) -> Any:
        if not self.script:
            self.stop.set()
            return None
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        first, *self._rest = item
        return first

    def consume(self, _n: int, _timeout: float) -> list[Any]:
        rest, self._rest = self._rest, []
        return rest

    def store_offsets(self, offsets: list[TopicPartition]) -> None:
        self.stored.append([(tp.topic, tp.partition, tp.offset) for tp in offsets])

    def commit(self, asynchronous: bool) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def assignment(self) -> list[TopicPartition]:
        return []

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return partitions


class FakeApplier:
    def __init__(self, errors: list[BaseException], state: Callable[[], dict[str, Any]]) -> None:
        self.errors, self.state = errors, state
        self.batches: list[list[int]] = []
        self.states: list[tuple[str, str | None]] = []

    def apply(self, batch: list[Any], _stop: threading.Event) -> None:
        self.batches.append([m.offset() for m in batch])
        self.states.append((self.state()["state"], self.state()["reason"]))
        if self.errors:
            raise self.errors.pop(0)


class Loop:
    """A consumer loop over scripted Kafka consumers (one per script: each replacement takes the next)."""

    def __init__(self, *scripts: list[Any], errors: list[BaseException] | None = None) -> None:
        self.stop = threading.Event()
        self.states: list[str] = []
        self.consumers = [FakeKafkaConsumer(s, self.stop, self.states, lambda: self.loop.state.state) for s in scripts]
        made = iter(self.consumers)
        self.loop: ConsumerLoop[Any] = ConsumerLoop(
            service="catalog",
            transactions=cast(Any, None),
            inbox=messaging_tables(sa.MetaData())[1],
            new_consumer=lambda: cast(Any, next(made)),
            routes={TOPIC: {}},
        )
        self.applier = FakeApplier(errors or [], self.loop.state.snapshot)
        self.loop._applier = cast(Any, self.applier)

    def run(self) -> None:
        self.loop.run(self.stop)


def message(offset: int, partition: int = 0) -> Any:
    return kafka_message(TOPIC, b"{}", offset=offset, partition=partition)


def test_offsets_are_stored_after_each_applied_batch() -> None:
    loop = Loop([[message(5), message(6, partition=1), message(7)], [message(8)]])
    loop.run()
    assert loop.applier.batches == [[5, 6, 7], [8]]
    assert loop.consumers[0].stored == [[(TOPIC, 0, 8), (TOPIC, 1, 7)], [(TOPIC, 0, 9)]]
    assert loop.loop.stats.batches == 2
    assert loop.states == ["starting", "running"] and loop.loop.state.state == "stopped"
    assert loop.consumers[0].closed


def test_a_batch_is_retried_while_a_dependency_is_down_and_its_offsets_stored_once() -> None:
    loop = Loop([[message(1)]], errors=[RetryLater("stripe"), RetryLater("stripe")])
    loop.run()
    assert loop.applier.batches == [[1], [1], [1]]
    assert loop.consumers[0].stored == [[(TOPIC, 0, 2)]]
    retrying = ("retrying", "a dependency is unavailable: RetryLater('stripe')")
    assert loop.applier.states == [("running", None), retrying, retrying]


def test_stopping_while_a_dependency_is_down_stores_nothing() -> None:
    loop = Loop([[message(1)]])
    loop.applier.errors = [RetryLater("down")] * 1000
    threading.Timer(0.3, loop.stop.set).start()
    loop.run()
    assert loop.consumers[0].stored == [] and loop.loop.state.state == "stopped"


def test_a_fenced_consumer_is_replaced_and_goes_on() -> None:
    fatal = FatalMessage(TOPIC, None)
    loop = Loop([[fatal]], [[message(3)]])
    loop.run()
    assert loop.states == ["starting", "running", "restarting", "running"]
    assert loop.consumers[0].closed and loop.consumers[1].stored == [[(TOPIC, 0, 4)]]
    assert loop.applier.batches == [[3]]


def test_a_crash_is_in_the_state_and_raised_for_the_workers_guard() -> None:
    loop = Loop([RuntimeError("librdkafka went away")])
    with pytest.raises(RuntimeError):
        loop.run()
    assert loop.loop.state.state == "crashed"
    assert loop.loop.state.problem() == "consumer crashed: RuntimeError('librdkafka went away')"
