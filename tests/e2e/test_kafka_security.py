"""Kafka security settings pass through to every client: against the local broker's SASL_PLAINTEXT listener
(SCRAM-SHA-256), the right credentials create a topic, produce and consume; wrong ones are refused with
Kafka's own words, and a service given them ends at start with that one line."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._scram import (
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)
from confluent_kafka.cimpl import NewTopic

from infra import kafka
from infra.kafka.config import sasl_port
from infra.state import REPO_ROOT
from plumbing.dead_letters import read_dead_letters
from plumbing.kafka import consumer_config, credentials_refused, producer_config, topic_shortfalls
from plumbing.kafka_settings import KafkaSettings
from plumbing.provision import ensure_topics
from tests.support import wait_for

REFUSED = (
    "SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL "
    "mechanism SCRAM-SHA-256"
)


@pytest.fixture
def scram_user() -> Iterator[tuple[str, str]]:
    """A SCRAM-SHA-256 user created for this test (through the plaintext listener), deleted afterwards."""
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers()})
    user, password = f"rv-test-{uuid.uuid4().hex[:8]}", secrets.token_hex(16)
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096)
    for future in admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(user, info, password.encode())]
    ).values():
        future.result(10)
    yield user, password
    deletion = UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_256)
    for future in admin.alter_user_scram_credentials([deletion]).values():
        future.result(10)


def sasl_environment(user: str, password: str) -> dict[str, str]:
    return {
        "RV_KAFKA_BOOTSTRAP": f"127.0.0.1:{sasl_port()}",
        "RV_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "RV_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "RV_KAFKA_SASL_USERNAME": user,
        "RV_KAFKA_SASL_PASSWORD": password,
    }


def settings_from(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> KafkaSettings:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return KafkaSettings.load()


def test_the_right_credentials_create_produce_and_consume(
    monkeypatch: pytest.MonkeyPatch, scram_user: tuple[str, str]
) -> None:
    client = settings_from(monkeypatch, sasl_environment(*scram_user)).kafka_client()
    assert credentials_refused(client) is None
    topic = f"sasl-test-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(client)
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(10)
    try:
        producer = Producer(producer_config(client, "sasl-test-producer"))
        producer.produce(topic, key=b"k", value=b"over SCRAM")
        assert producer.flush(10) == 0
        consumer = Consumer({**consumer_config(client, f"sasl-test-{uuid.uuid4()}", "1"), "enable.auto.commit": False})
        consumer.subscribe([topic])
        try:
            message = wait_for(lambda: _value(consumer), timeout_s=30, what="the message back over SASL")
        finally:
            consumer.close()
        assert message == b"over SCRAM"
        assert topic_shortfalls(client, ["catalog.commands"]) == {}  # the metadata the services check at /health
        assert ensure_topics(client) == []  # provisioning: every topic is there already
        assert len(read_dead_letters(client, limit=1)) <= 1  # the coordinator's dead-letter reader
    finally:
        admin.delete_topics([topic])[topic].result(10)


def _value(consumer: Consumer) -> bytes | None:
    message = consumer.poll(0.5)
    return None if message is None or message.error() else message.value()


def test_a_wrong_password_is_refused_in_kafkas_words(
    monkeypatch: pytest.MonkeyPatch, scram_user: tuple[str, str]
) -> None:
    user, _password = scram_user
    client = settings_from(monkeypatch, sasl_environment(user, "not-the-password")).kafka_client()
    refused = credentials_refused(client)
    assert refused is not None and REFUSED in refused


def test_a_service_given_wrong_credentials_ends_at_start_with_one_line(scram_user: tuple[str, str]) -> None:
    user, _password = scram_user
    environment = {**os.environ, **sasl_environment(user, "not-the-password"), "RV_CATALOG_PORT": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "catalog"],
        check=False,
        env=environment,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith(f"configuration error: Kafka at 127.0.0.1:{sasl_port()} refused us: ") and REFUSED in line
