"""librdkafka settings for our producers and consumers, in one place.

Settings are documented in librdkafka's CONFIGURATION.md; the reasons for ours are in docs/architecture.md.
Every client is given ``client``: the connection and security settings (``KafkaSettings.kafka_client()``), which
come after our tuning so that an operator's ``RV_KAFKA_CLIENT_CONFIG`` can override it, but before the keys our
delivery guarantees rest on (``GUARANTEE_KEYS``), which nothing overrides (the settings refuse them).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from contracts.topics import by_name, configured_partitions

GUARANTEE_KEYS = frozenset(
    {
        "enable.idempotence",
        "acks",
        "group.id",
        "group.instance.id",
        "enable.auto.commit",
        "enable.auto.offset.store",
        "auto.offset.reset",
        "partition.assignment.strategy",
        "isolation.level",
    }
)
"""librdkafka keys that exactly-once effects and the consumer loop rely on: set by us only, after ``client``."""


def producer_config(client: Mapping[str, Any], client_id: str) -> dict[str, Any]:
    """Idempotent producer: no duplicates or reordering from its own retries; short linger for latency."""
    return {
        "client.id": client_id,
        "linger.ms": 1,
        # Give up on a message within this bound, so a relay batch either lands or is retried from the outbox.
        "message.timeout.ms": 15000,
        "socket.keepalive.enable": True,
        **client,
        "enable.idempotence": True,
        "acks": "all",
    }


def consumer_config(
    client: Mapping[str, Any], service: str, instance_id: str, *, static: bool = False
) -> dict[str, Any]:
    """A consumer that stores offsets only after the effects are committed (at-least-once + inbox).

    Every instance of a service is a full member of the service's group, ``client.id`` naming the instance.
    Static membership (``group.instance.id``, so a restarted process takes its partitions back at once) only
    when the instance was given a stable id of its own (``static``): two members sharing one would fence each
    other. Cooperative-sticky assignment moves only the partitions that change hands; confluent-kafka then
    calls ``on_assign`` with the partitions added and ``on_revoke`` with those taken away (not the whole
    assignment), ``on_lost`` instead of ``on_revoke`` when the assignment was lost (session timed out), and
    performs the incremental assign/unassign itself when the callback does not (``Consumer_rebalance_cb`` in
    confluent-kafka-python's ``src/confluent_kafka/src/Consumer.c``).
    """
    config: dict[str, Any] = {
        "client.id": f"{service}-{instance_id}",
        "auto.commit.interval.ms": 500,
        "session.timeout.ms": 10000,
        # Partitions added to a topic (``python -m infra.topics raise``) are noticed, and assigned, at the next
        # metadata refresh: 10 s instead of librdkafka's 5 min, or their messages wait that long unconsumed.
        "topic.metadata.refresh.interval.ms": 10000,
        "fetch.wait.max.ms": 500,
        "fetch.min.bytes": 1,
        "socket.keepalive.enable": True,
        **client,
        "group.id": service,
        "partition.assignment.strategy": "cooperative-sticky",
        "enable.auto.commit": True,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
    }
    if static:
        config["group.instance.id"] = f"{service}-{instance_id}"
    return config


def client_of(kafka: str | Mapping[str, Any]) -> dict[str, Any]:
    """A client's connection settings: ``kafka`` itself, or for a bare ``host:port`` list, that list alone."""
    return {"bootstrap.servers": kafka} if isinstance(kafka, str) else dict(kafka)


def topic_shortfalls(
    kafka: str | Mapping[str, Any], names: list[str], timeout_s: float = 5.0
) -> dict[str, tuple[int, int]]:
    """Topics among ``names`` with fewer partitions than configured: name -> (partitions now, configured);
    a missing topic has 0. Raises ``KafkaException`` when Kafka does not answer within ``timeout_s``."""
    metadata = AdminClient(client_of(kafka)).list_topics(timeout=timeout_s)
    short: dict[str, tuple[int, int]] = {}
    for name in names:
        found = metadata.topics.get(name)
        now = len(found.partitions) if found is not None and found.error is None else 0
        wanted = configured_partitions(by_name(name))
        if now < wanted:
            short[name] = (now, wanted)
    return short


def credentials_refused(kafka: str | Mapping[str, Any], timeout_s: float = 10.0) -> str | None:
    """What Kafka says when it refuses these settings' credentials (SASL, TLS), or None once it answers a
    metadata request; None too when it does not answer within ``timeout_s`` (unreachable is not refused)."""
    errors: list[KafkaError] = []
    config: dict[str, Any] = {**client_of(kafka), "error_cb": errors.append, "log_level": 0}  # no log lines
    admin = AdminClient(config)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            admin.list_topics(timeout=0.5)
            return None
        except KafkaException:
            admin.poll(0)  # serves error_cb
        refused = [e for e in errors if e.code() in (KafkaError._AUTHENTICATION, KafkaError._SSL)]
        if refused:
            return str(refused[0].str())
    return None
