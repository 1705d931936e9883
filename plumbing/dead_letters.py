"""Reading the dead-letter topic: what no consumer could apply, with the reason, for operators."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, TopicPartition
from confluent_kafka import Message as KafkaMessage

from contracts.topics import DEAD_LETTERS
from plumbing.routing import headers_of


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message: where it came from, why it was refused, and its original bytes."""

    id: str
    topic: str
    partition: str
    offset: str
    service: str
    reason: str
    message_id: str | None
    message_type: str | None
    key: str | None
    value: bytes
    headers: dict[str, str]
    timestamp_ms: int
    """When it was written to the dead-letter topic (Kafka's timestamp, ms since the epoch; 0: not known)."""

    @property
    def unique_id(self) -> str:
        """``id@timestamp_ms``: names this letter even when the topic is re-created and its offsets reused."""
        return f"{self.id}@{self.timestamp_ms}"

    @property
    def original_headers(self) -> dict[str, str]:
        """The headers the message had before it was dead-lettered."""
        return {k: v for k, v in self.headers.items() if not k.startswith("dlq.")}


def read_dead_letters(client: Mapping[str, Any], *, limit: int = 100, timeout_s: float = 10.0) -> list[DeadLetter]:
    """The newest ``limit`` dead letters, oldest first (reads the topic, commits nothing); ``client``: Kafka's
    connection settings (``KafkaSettings.kafka_client()``)."""
    consumer = Consumer({**client, "group.id": f"dlq-reader-{uuid.uuid4()}", "enable.auto.commit": False})
    letters: list[DeadLetter] = []
    try:
        for partition in (
            consumer.list_topics(DEAD_LETTERS.name, timeout=timeout_s).topics[DEAD_LETTERS.name].partitions
        ):
            low, high = consumer.get_watermark_offsets(TopicPartition(DEAD_LETTERS.name, partition), timeout=timeout_s)
            start = max(low, high - limit)
            if start >= high:
                continue
            consumer.assign([TopicPartition(DEAD_LETTERS.name, partition, start)])
            while True:
                message = consumer.poll(timeout_s)
                if message is None:
                    raise TimeoutError(f"could not read {DEAD_LETTERS.name}[{partition}] up to offset {high}")
                if message.error():
                    continue
                letters.append(_letter(message))
                if (message.offset() or 0) + 1 >= high:
                    break
    finally:
        consumer.close()
    return letters[-limit:]


class AmbiguousLetter(LookupError):
    """A message id that several dead letters hold (a message refused again after a replay keeps its id)."""

    def __init__(self, message_id: str, letter_ids: list[str]) -> None:
        super().__init__(
            f"ambiguous: message id {message_id} is on {len(letter_ids)} dead letters ({', '.join(letter_ids)}); "
            "name the letter by its id (partition-offset)"
        )
        self.letter_ids = letter_ids


def find_dead_letter(client: Mapping[str, Any], ident: str, *, scan: int = 10_000) -> DeadLetter | None:
    """A dead letter by its id (``partition-offset``) or by the original message id; ``AmbiguousLetter`` when
    several letters hold that message id, rather than guess which one an operator means."""
    letters = read_dead_letters(client, limit=scan)
    by_id = next((d for d in letters if d.id == ident), None)
    if by_id is not None:
        return by_id
    holding = [d for d in letters if d.message_id == ident]
    if len(holding) > 1:
        raise AmbiguousLetter(ident, [d.id for d in holding])
    return holding[0] if holding else None


def _letter(message: KafkaMessage) -> DeadLetter:
    headers = headers_of(message)
    partition, offset = str(message.partition()), str(message.offset())
    key = message.key()
    kind, timestamp_ms = message.timestamp()
    return DeadLetter(
        id=f"{partition}-{offset}",
        topic=headers.get("dlq.topic", ""),
        partition=headers.get("dlq.partition", ""),
        offset=headers.get("dlq.offset", ""),
        service=headers.get("dlq.service", ""),
        reason=headers.get("dlq.reason", ""),
        message_id=headers.get("message_id"),
        message_type=headers.get("type"),
        key=key.decode("utf-8", "replace") if isinstance(key, bytes) else key,
        value=message.value() or b"",
        headers=headers,
        timestamp_ms=timestamp_ms if kind != TIMESTAMP_NOT_AVAILABLE else 0,
    )
