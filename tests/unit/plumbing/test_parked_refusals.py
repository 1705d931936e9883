"""Which of Kafka's refusals park an outbox row, which hold it back, and which only retry the batch."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from plumbing.refusals import Refusal, classify, describe


@pytest.mark.parametrize(
    "code",
    [
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.INVALID_RECORD,
        KafkaError.TOPIC_EXCEPTION,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError._INVALID_ARG,
        KafkaError._UNKNOWN_PARTITION,
    ],
)
def test_a_refusal_of_the_row_itself_is_permanent(code: int) -> None:
    assert classify(KafkaError(code)) is Refusal.PERMANENT


@pytest.mark.parametrize("code", [KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC])
def test_a_missing_topic_is_its_own_kind(code: int) -> None:
    assert classify(KafkaError(code)) is Refusal.MISSING_TOPIC


@pytest.mark.parametrize(
    "code",
    [
        KafkaError._MSG_TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError.NOT_ENOUGH_REPLICAS,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    ],
)
def test_trouble_with_kafka_rather_than_the_row_is_transient(code: int) -> None:
    assert classify(KafkaError(code)) is Refusal.TRANSIENT


def test_a_fatal_producer_error_is_transient_even_with_a_permanent_code() -> None:
    # The producer is replaced and the row sent again by the new one; the row itself may be fine.
    assert classify(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, "fenced", fatal=True)) is Refusal.TRANSIENT


def test_the_parked_error_names_the_code_and_its_text() -> None:
    assert describe(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)) == "MSG_SIZE_TOO_LARGE: Broker: Message size too large"
    assert describe(TypeError("bad key")) == "TypeError: bad key"
