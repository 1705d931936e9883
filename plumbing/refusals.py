"""Which of Kafka's refusals of an outbox row are final (park the row) and which pass (send it again).

librdkafka reports a refused message either at once, from ``produce()`` (a ``KafkaException``; the codes
``rd_kafka_producev`` documents: ``MSG_SIZE_TOO_LARGE``, ``_UNKNOWN_TOPIC``, ``_UNKNOWN_PARTITION``, and
``_QUEUE_FULL``, which confluent-kafka raises as ``BufferError``), or later, in the message's delivery report
(the broker's code, or ``_MSG_TIMED_OUT`` after ``message.timeout.ms``). A row is parked only for a code that
is about that row; every other error is about the broker or the connection and passes.
"""

from __future__ import annotations

import enum

from confluent_kafka import KafkaError


class Refusal(enum.Enum):
    """What a refusal says about the row."""

    PERMANENT = "permanent"
    """Sending it again cannot work: park it now."""
    MISSING_TOPIC = "missing topic"
    """Its topic does not exist (auto-creation is off): it may be created soon, so park it only after
    ``MISSING_TOPIC_ATTEMPTS`` attempts."""
    TRANSIENT = "transient"
    """Kafka is unavailable or slow: send it again later, never park it."""


PERMANENT: frozenset[int] = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,  # over message.max.bytes (ours: 1,000,000) or the topic's max.message.bytes
        KafkaError.INVALID_RECORD,  # e.g. no key for a compacted topic
        KafkaError.TOPIC_EXCEPTION,  # not a valid topic name
        KafkaError.TOPIC_AUTHORIZATION_FAILED,  # no right to write to that topic
        KafkaError._INVALID_ARG,  # produce() refused the row's own arguments
        KafkaError._UNKNOWN_PARTITION,  # a partition the topic does not have
    }
)
"""librdkafka codes that refuse one row for good."""

MISSING: frozenset[int] = frozenset({KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC})
"""The broker's and librdkafka's "no such topic"."""

MISSING_TOPIC_ATTEMPTS = 10
"""How many times a row whose topic does not exist is tried before it is parked. The relay tries once when the
row is handed over, then once per scan (every second): about ten seconds for a topic that is being created."""


def classify(error: KafkaError) -> Refusal:
    """What ``error`` (from ``produce()``, a delivery report or the topic's metadata) says about the row.

    ``_MSG_TIMED_OUT``, fatal producer errors and any code not listed above are transient: a code this
    module does not know holds the row back (and is logged) rather than parking rows that may be fine.
    """
    code = error.code()
    if code in MISSING:
        return Refusal.MISSING_TOPIC
    if code in PERMANENT and not error.fatal():
        return Refusal.PERMANENT
    return Refusal.TRANSIENT


def describe(error: KafkaError | BaseException) -> str:
    """One line for the parked row's ``error``: librdkafka's code name and its text."""
    if isinstance(error, KafkaError):
        return f"{error.name()}: {error.str()}"
    return f"{type(error).__name__}: {error}"
