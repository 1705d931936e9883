"""Creates the project's Kafka topics with explicit partition counts (idempotent)."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from contracts.topics import ALL_TOPICS


def ensure_topics(bootstrap: str, timeout_s: float = 30.0) -> list[str]:
    """Create every topic in ``contracts.topics.ALL_TOPICS`` that does not exist yet; returns the new ones."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    wanted = [
        NewTopic(
            t.name,
            num_partitions=t.partitions,
            replication_factor=1,
            config={"cleanup.policy": "compact"} if t.compacted else {},
        )
        for t in ALL_TOPICS
        if t.name not in existing
    ]
    if not wanted:
        return []
    for future in admin.create_topics(wanted, operation_timeout=timeout_s).values():
        future.result(timeout_s)
    return [t.topic for t in wanted]


def main() -> None:
    """``python -m infra.topics``: create the topics on ``$RV_KAFKA_BOOTSTRAP``."""
    from plumbing.services import DEFAULT_KAFKA_PORT
    from plumbing.settings import env

    bootstrap = env("RV_KAFKA_BOOTSTRAP", f"127.0.0.1:{DEFAULT_KAFKA_PORT}")
    print("created:", ", ".join(ensure_topics(bootstrap)) or "nothing (all topics exist)")


if __name__ == "__main__":
    main()
