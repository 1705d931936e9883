"""The librdkafka keys our delivery guarantees rest on: ``RV_KAFKA_CLIENT_CONFIG`` may not set them, and the
clients' configurations set them after whatever connection settings they are given."""

from __future__ import annotations

import os

import pytest

from plumbing.configuration import ConfigurationError
from plumbing.kafka import GUARANTEE_KEYS, consumer_config, producer_config
from plumbing.kafka_settings import KafkaSettings


@pytest.fixture
def kafka_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment without any ``RV_KAFKA_`` variable of the developer's or the stack's."""
    for name in list(os.environ):
        if name.startswith("RV_KAFKA_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize("key", sorted(GUARANTEE_KEYS))
def test_the_pass_through_may_not_set_a_guarantee(kafka_environment: pytest.MonkeyPatch, key: str) -> None:
    kafka_environment.setenv("RV_KAFKA_CLIENT_CONFIG", f'{{"client.rack": "eu-1a", "{key}": "x"}}')
    with pytest.raises(ConfigurationError) as raised:
        KafkaSettings.load()
    assert str(raised.value) == f"RV_KAFKA_CLIENT_CONFIG may not set {key!r}: our delivery guarantees rest on it"


def test_an_entry_that_fits_no_type_is_one_problem(kafka_environment: pytest.MonkeyPatch) -> None:
    kafka_environment.setenv("RV_KAFKA_CLIENT_CONFIG", '{"client.rack": ["eu-1a"], "linger.ms": 1.5}')
    with pytest.raises(ConfigurationError) as raised:
        KafkaSettings.load()
    assert str(raised.value) == "RV_KAFKA_CLIENT_CONFIG: 'client.rack' should be str, int or bool"


def test_the_guarantees_win_over_any_connection_setting() -> None:
    client = {
        "bootstrap.servers": "k:1",
        "linger.ms": 20,
        "acks": "1",
        "enable.idempotence": False,
        "group.id": "someone-else",
        "enable.auto.commit": False,
        "enable.auto.offset.store": True,
        "auto.offset.reset": "latest",
        "partition.assignment.strategy": "range",
    }
    producer, consumer = producer_config(client, "p"), consumer_config(client, "catalog", "1")
    assert (producer["linger.ms"], producer["acks"], producer["enable.idempotence"]) == (20, "all", True)
    assert {key: consumer[key] for key in client if key in GUARANTEE_KEYS} == {
        "acks": "1",  # a producer key: the consumer ignores it
        "enable.idempotence": False,
        "group.id": "catalog",
        "enable.auto.commit": True,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
    }
