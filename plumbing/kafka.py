"""librdkafka settings for our producers and consumers, in one place.

Settings are documented in librdkafka's CONFIGURATION.md; the reasons for ours are in docs/architecture.md.
"""

from __future__ import annotations

from typing import Any


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


def consumer_config(bootstrap: str, service: str) -> dict[str, Any]:
    """A consumer that stores offsets only after the effects are committed (at-least-once + inbox).

    Static membership (``group.instance.id``) lets a restarted process take its partitions back
    at once instead of waiting for the old member's session to expire.
    """
    return {
        "bootstrap.servers": bootstrap,
        "group.id": service,
        "group.instance.id": f"{service}-1",
        "client.id": service,
        "enable.auto.commit": True,
        "enable.auto.offset.store": False,
        "auto.commit.interval.ms": 500,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 10000,
        "fetch.wait.max.ms": 500,
        "fetch.min.bytes": 1,
        "socket.keepalive.enable": True,
    }
