"""The relay's Kafka side with a fake producer: which rows are acknowledged, parked, held back or sent again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

from confluent_kafka import KafkaError, KafkaException, Producer

from plumbing.outbox_publisher import Publisher
from plumbing.outbox_rows import OutboxRow, Parking

LIMIT = 1_000_000


@dataclass
class FakeProducer:
    """Enough of confluent-kafka's ``Producer``: topics that exist, a size limit checked in ``produce()`` as
    librdkafka does, and delivery reports (success, or an error chosen per topic) handed out by ``flush()``."""

    topics: set[str] = field(default_factory=lambda: {"good"})
    refuse_on_delivery: dict[str, KafkaError] = field(default_factory=dict)
    raise_on_produce: dict[str, Exception] = field(default_factory=dict)
    metadata_down: bool = False
    produced: list[str] = field(default_factory=list)
    metadata_asked: list[str] = field(default_factory=list)
    _pending: list[tuple[Callable[[KafkaError | None, Any], None], KafkaError | None]] = field(default_factory=list)

    def produce(self, topic: str, *, value: bytes, key: str | None, headers: Any, on_delivery: Any) -> None:
        if topic in self.raise_on_produce:
            raise self.raise_on_produce[topic]
        if len(value) > LIMIT:
            raise KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
        self.produced.append(value.decode())
        self._pending.append((on_delivery, self.refuse_on_delivery.get(topic)))

    def flush(self, timeout: float) -> int:
        for on_delivery, error in self._pending:
            on_delivery(error, None)
        self._pending = []
        return 0

    def poll(self, timeout: float) -> int:
        return 0

    def list_topics(self, topic: str, timeout: float) -> Any:
        self.metadata_asked.append(topic)
        if self.metadata_down:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT))
        missing = KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)
        return SimpleNamespace(topics={topic: SimpleNamespace(error=None if topic in self.topics else missing)})


def publisher_over(producer: FakeProducer, *, missing_topic_attempts: int = 3) -> Publisher:
    return Publisher(lambda: cast(Producer, producer), missing_topic_attempts=missing_topic_attempts)


def row(row_id: int, topic: str = "good", value: bytes | None = None) -> OutboxRow:
    return OutboxRow(row_id, topic, f"key-{row_id}", value or f"row {row_id}".encode(), {"type": "Test"})


def test_an_oversized_row_is_parked_at_once_and_the_rows_behind_it_are_sent_in_order() -> None:
    producer = FakeProducer()
    delivery = publisher_over(producer).publish([row(1), row(2, value=b"x" * (LIMIT + 1)), row(3)])
    assert producer.produced == ["row 1", "row 3"]
    assert delivery.acked == [1, 3]
    assert delivery.parked == [Parking(2, "MSG_SIZE_TOO_LARGE: Broker: Message size too large", 1)]
    assert (delivery.held, delivery.failures) == ([], [])


def test_a_row_for_a_missing_topic_is_held_back_then_parked_after_the_last_attempt() -> None:
    producer = FakeProducer()
    publisher = publisher_over(producer, missing_topic_attempts=3)
    first = publisher.publish([row(1), row(2, "missing"), row(3)])
    assert (first.acked, first.held, first.parked) == ([1, 3], [2], [])
    second = publisher.publish([row(2, "missing")])
    assert (second.acked, second.held, second.parked) == ([], [2], [])
    third = publisher.publish([row(2, "missing"), row(4)])
    assert (third.acked, third.held) == ([4], [])
    assert third.parked == [Parking(2, "UNKNOWN_TOPIC_OR_PART: Broker: Unknown topic or partition", 3)]
    assert producer.produced == ["row 1", "row 3", "row 4"]  # never queued for the missing topic
    assert first.failures == second.failures == third.failures == []


def test_a_topic_created_while_its_row_is_held_back_gets_the_row() -> None:
    producer = FakeProducer()
    publisher = publisher_over(producer, missing_topic_attempts=3)
    assert publisher.publish([row(1, "late")]).held == [1]
    producer.topics.add("late")
    delivery = publisher.publish([row(1, "late")])
    assert (delivery.acked, delivery.held, delivery.parked) == ([1], [], [])
    assert publisher.published == 1


def test_a_topic_known_to_exist_is_not_asked_about_again() -> None:
    producer = FakeProducer()
    publisher = publisher_over(producer)
    publisher.publish([row(1), row(2)])
    publisher.publish([row(3)])
    assert producer.metadata_asked == ["good"]


def test_a_broker_refusal_in_the_delivery_report_parks_only_that_row() -> None:
    producer = FakeProducer(topics={"good", "compacted"})
    producer.refuse_on_delivery["compacted"] = KafkaError(KafkaError.INVALID_RECORD)
    delivery = publisher_over(producer).publish([row(1), row(2, "compacted"), row(3)])
    assert delivery.acked == [1, 3]
    assert [(p.id, p.attempts) for p in delivery.parked] == [(2, 1)]
    assert delivery.parked[0].error.startswith("INVALID_RECORD: ")


def test_a_timed_out_row_is_sent_again_never_parked_and_its_topic_is_looked_up_again() -> None:
    producer = FakeProducer()
    producer.refuse_on_delivery["good"] = KafkaError(KafkaError._MSG_TIMED_OUT)
    publisher = publisher_over(producer)
    delivery = publisher.publish([row(1)])
    assert (delivery.acked, delivery.parked, delivery.held) == ([], [], [])
    assert delivery.failures == ["row 1: _MSG_TIMED_OUT: Local: Message timed out"]
    publisher.publish([row(1)])
    assert producer.metadata_asked == ["good", "good"]


def test_a_transient_error_from_produce_stops_the_batch_to_keep_commit_order() -> None:
    producer = FakeProducer(topics={"good", "busy"})
    producer.raise_on_produce["busy"] = KafkaException(KafkaError(KafkaError._TRANSPORT))
    delivery = publisher_over(producer).publish([row(1), row(2, "busy"), row(3)])
    assert producer.produced == ["row 1"]
    assert (delivery.acked, delivery.parked) == ([1], [])
    assert len(delivery.failures) == 1


def test_a_row_confluent_kafka_cannot_take_is_parked() -> None:
    producer = FakeProducer(topics={"good", "odd"})
    producer.raise_on_produce["odd"] = TypeError("expected bytes")
    delivery = publisher_over(producer).publish([row(1, "odd"), row(2)])
    assert delivery.acked == [2]
    assert delivery.parked == [Parking(1, "TypeError: expected bytes", 1)]


def test_kafka_unreachable_for_metadata_fails_the_batch_and_parks_nothing() -> None:
    producer = FakeProducer(metadata_down=True)
    delivery = publisher_over(producer).publish([row(1), row(2)])
    assert producer.produced == []
    assert (delivery.acked, delivery.parked, delivery.held) == ([], [], [])
    assert delivery.failures == ["_TRANSPORT: Local: Broker transport failure"]
