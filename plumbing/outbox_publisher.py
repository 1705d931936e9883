"""The Kafka side of the outbox relay: produce a batch of rows in order, and say what became of each."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from plumbing.metrics import PUBLISHED
from plumbing.outbox_rows import OutboxRow, Parking
from plumbing.refusals import MISSING_TOPIC_ATTEMPTS, Refusal, classify, describe

log = logging.getLogger(__name__)

FLUSH_TIMEOUT_S = 20.0
"""How long a batch may wait for Kafka's acknowledgements (longer than ``message.timeout.ms``)."""
METADATA_TIMEOUT_S = 5.0
"""How long to wait for a topic's metadata before treating the batch as failed (Kafka unreachable)."""


@dataclass
class Delivery:
    """What became of one batch: acknowledged, to park, held back (topic still missing), or failed for now.

    Acknowledged rows may be deleted; parked ones moved to ``outbox_parked``; held and failed ones stay in the
    outbox. ``failures`` are transient errors that concern Kafka rather than a row: the relay backs off.
    """

    acked: list[int] = field(default_factory=list)
    parked: list[Parking] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Publisher:
    """Produces rows in the order given, then waits for Kafka; a row Kafka refuses for good is reported for
    parking while the others go on.

    Before producing to a topic it has not seen yet it reads the topic's metadata: librdkafka would otherwise
    queue a message for a missing topic until ``message.timeout.ms`` and the whole batch would wait for it. A
    row whose topic is missing is held back and tried again by the next scan; after ``missing_topic_attempts``
    tries it is parked. The count of tries lives in this process (a restart starts it again).
    """

    def __init__(
        self,
        new_producer: Callable[[], Producer],
        *,
        service: str = "",
        missing_topic_attempts: int = MISSING_TOPIC_ATTEMPTS,
    ) -> None:
        self._new_producer = new_producer
        self._producer = new_producer()
        self._service = service
        self._missing_topic_attempts = missing_topic_attempts
        self._topics: set[str] = set()  # topics whose metadata said they exist
        self._attempts: dict[int, int] = {}  # row id -> tries that found its topic missing
        self.published = 0

    def publish(self, rows: list[OutboxRow]) -> Delivery:
        """Produce ``rows`` in order, wait for Kafka, and sort each row into the returned ``Delivery``."""
        delivery = Delivery()
        try:
            refused_topics = self._refused_topics({row.topic for row in rows})
        except KafkaException as error:
            delivery.failures.append(describe(error.args[0]))
            return delivery
        reports: dict[int, KafkaError | None] = {}
        refusals: dict[int, KafkaError | BaseException] = {}
        for row in rows:
            if row.topic in refused_topics:
                refusals[row.id] = refused_topics[row.topic]
                continue
            try:
                self._produce(row, _report_into(reports, row.id))
            except KafkaException as error:
                refusals[row.id] = error.args[0]
                if classify(error.args[0]) is Refusal.TRANSIENT:
                    break  # keep commit order: nothing behind a row that is to be sent again goes first
            except (TypeError, ValueError) as error:  # confluent-kafka's own checks of the row's fields
                refusals[row.id] = error
        remaining = self._producer.flush(FLUSH_TIMEOUT_S)
        refusals |= {row_id: error for row_id, error in reports.items() if error is not None}
        self._sort(rows, reports, refusals, delivery)
        if remaining:
            delivery.failures.append(f"{remaining} unacknowledged after {FLUSH_TIMEOUT_S:.0f} s")
        self._renew_if_fatal(refusals.values())
        return delivery

    def _refused_topics(self, topics: set[str]) -> dict[str, KafkaError]:
        """The topics not seen before whose metadata refuses them (missing, invalid, forbidden), with the error."""
        refused: dict[str, KafkaError] = {}
        for topic in sorted(topics - self._topics):
            found = self._producer.list_topics(topic, timeout=METADATA_TIMEOUT_S).topics.get(topic)
            error = found.error if found is not None else KafkaError(KafkaError._UNKNOWN_TOPIC)
            if error is None:
                self._topics.add(topic)
            elif classify(error) is not Refusal.TRANSIENT:
                refused[topic] = error
        return refused

    def _sort(
        self,
        rows: list[OutboxRow],
        reports: dict[int, KafkaError | None],
        refusals: dict[int, KafkaError | BaseException],
        delivery: Delivery,
    ) -> None:
        for row in rows:
            if row.id in reports and reports[row.id] is None:
                delivery.acked.append(row.id)
                self._attempts.pop(row.id, None)
                self.published += 1
                PUBLISHED.labels(self._service, row.topic).inc()
            elif row.id in refusals:
                self._refused(row, refusals[row.id], delivery)

    def _refused(self, row: OutboxRow, error: KafkaError | BaseException, delivery: Delivery) -> None:
        refusal = classify(error) if isinstance(error, KafkaError) else Refusal.PERMANENT
        if refusal is Refusal.TRANSIENT:
            if isinstance(error, KafkaError) and error.code() == KafkaError._MSG_TIMED_OUT:
                self._topics.discard(row.topic)  # a topic deleted since we saw it shows up as a timeout
            delivery.failures.append(f"row {row.id}: {describe(error)}")
            return
        attempts = self._attempts.pop(row.id, 0) + 1
        if refusal is Refusal.MISSING_TOPIC:
            self._topics.discard(row.topic)
            if attempts < self._missing_topic_attempts:
                self._attempts[row.id] = attempts
                delivery.held.append(row.id)
                return
        parking = Parking(row.id, describe(error), attempts)
        log.error(
            "outbox relay: parking row %s for %s after %s attempt(s): %s", row.id, row.topic, attempts, parking.error
        )
        delivery.parked.append(parking)

    def _renew_if_fatal(self, errors: Iterable[KafkaError | BaseException]) -> None:
        if any(isinstance(error, KafkaError) and error.fatal() for error in errors):
            # An idempotent producer that lost its sequence (e.g. the broker lost unflushed data in a crash)
            # is unusable: start a new one; the rows are still in the outbox and will be sent again.
            log.warning("outbox relay: fatal producer error; creating a new producer")
            self._producer = self._new_producer()

    def _produce(self, row: OutboxRow, on_delivery: Callable[[KafkaError | None, Message], None]) -> None:
        headers: list[tuple[str, str | bytes | None]] = [(name, _header(value)) for name, value in row.headers.items()]
        while True:
            try:
                self._producer.produce(
                    row.topic, value=row.value, key=row.key, headers=headers, on_delivery=on_delivery
                )
                return
            except BufferError:  # librdkafka's queue is full (_QUEUE_FULL): let it deliver some, then go on
                self._producer.poll(0.05)


def _header(value: object) -> bytes:
    """A header's bytes: ours are strings; any other JSON value from the ``headers`` column goes as its JSON."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


def _report_into(reports: dict[int, KafkaError | None], row_id: int) -> Callable[[KafkaError | None, Message], None]:
    def delivered(error: KafkaError | None, _msg: Message) -> None:
        reports[row_id] = error

    return delivered
