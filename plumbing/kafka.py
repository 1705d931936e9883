"""librdkafka settings for our producers and consumers, in one place.

Settings are documented in librdkafka's CONFIGURATION.md; the reasons for ours are in docs/architecture.md.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka.admin import AdminClient

from contracts.topics import by_name, configured_partitions


def producer_config(bootstrap: str, client_id: str) -> dict[str, Any]:
    """Idempotent producer: no duplicates or reordering from its own retries; short linger for latency."""
    return {
        "bootstrap.servers": bootstrap,
        "client.id": client_id,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 1,
        # Give up on a message within this bound, so a relay batch either lands or is retried from the outbox.
        "message.timeout.ms": 15000,
        "socket.keepalive.enable": True,
    }


def consumer_config(bootstrap: str, service: str, instance_id: str, *, static: bool = False) -> dict[str, Any]:
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
        "bootstrap.servers": bootstrap,
        "group.id": service,
        "client.id": f"{service}-{instance_id}",
        "partition.assignment.strategy": "cooperative-sticky",
        "enable.auto.commit": True,
        "enable.auto.offset.store": False,
        "auto.commit.interval.ms": 500,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 10000,
        # Partitions added to a topic (``python -m infra.topics raise``) are noticed, and assigned, at the next
        # metadata refresh: 10 s instead of librdkafka's 5 min, or their messages wait that long unconsumed.
        "topic.metadata.refresh.interval.ms": 10000,
        "fetch.wait.max.ms": 500,
        "fetch.min.bytes": 1,
        "socket.keepalive.enable": True,
    }
    if static:
        config["group.instance.id"] = f"{service}-{instance_id}"
    return config


def topic_shortfalls(bootstrap: str, names: list[str], timeout_s: float = 5.0) -> dict[str, tuple[int, int]]:
    """Topics among ``names`` with fewer partitions than configured: name -> (partitions now, configured);
    a missing topic has 0. Raises ``KafkaException`` when Kafka does not answer within ``timeout_s``."""
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=timeout_s)
    short: dict[str, tuple[int, int]] = {}
    for name in names:
        found = metadata.topics.get(name)
        now = len(found.partitions) if found is not None and found.error is None else 0
        wanted = configured_partitions(by_name(name))
        if now < wanted:
            short[name] = (now, wanted)
    return short
