"""Creates the project's Kafka topics with their configured partition counts, checks and raises them.

``python -m infra.topics [create|check|raise]``: ``create`` (the default) makes the missing topics, ``check``
lists topics with fewer partitions than configured (exit status 1 if any), ``raise`` adds the missing partitions
(Kafka can only add partitions: keys then move, see docs/architecture.md).
"""

from __future__ import annotations

import argparse
import sys

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewPartitions, NewTopic

from contracts.topics import ALL_TOPICS, configured_partitions
from plumbing.kafka import topic_shortfalls


def ensure_topics(bootstrap: str, timeout_s: float = 30.0) -> list[str]:
    """Create every topic in ``contracts.topics.ALL_TOPICS`` that does not exist yet; returns those this call
    created (one another process created meanwhile is not an error)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    wanted = [
        NewTopic(
            t.name,
            num_partitions=configured_partitions(t),
            replication_factor=1,
            config={"cleanup.policy": "compact"} if t.compacted else {},
        )
        for t in ALL_TOPICS
        if t.name not in existing
    ]
    if not wanted:
        return []
    created = []
    for name, future in admin.create_topics(wanted, operation_timeout=timeout_s).items():
        try:
            future.result(timeout_s)
            created.append(name)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return created


def check(bootstrap: str, timeout_s: float = 30.0) -> dict[str, tuple[int, int]]:
    """Topics with fewer partitions than configured: name -> (partitions now, configured); 0 when missing."""
    return topic_shortfalls(bootstrap, [t.name for t in ALL_TOPICS], timeout_s)


def raise_partitions(bootstrap: str, timeout_s: float = 30.0) -> dict[str, tuple[int, int]]:
    """Add partitions to every existing topic that has fewer than configured; returns what was raised."""
    short = {name: counts for name, counts in check(bootstrap, timeout_s).items() if counts[0] > 0}
    if not short:
        return {}
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_partitions(
        [NewPartitions(name, wanted) for name, (_now, wanted) in short.items()], operation_timeout=timeout_s
    )
    for future in futures.values():
        future.result(timeout_s)
    return short


def main(argv: list[str] | None = None) -> int:
    """``python -m infra.topics [create|check|raise]`` on ``$RV_KAFKA_BOOTSTRAP``."""
    from plumbing.services import DEFAULT_KAFKA_PORT
    from plumbing.settings import env

    parser = argparse.ArgumentParser(prog="python -m infra.topics", description=__doc__)
    parser.add_argument("action", nargs="?", choices=["create", "check", "raise"], default="create")
    action = parser.parse_args(argv).action
    bootstrap = env("RV_KAFKA_BOOTSTRAP", f"127.0.0.1:{env('RV_KAFKA_PORT', str(DEFAULT_KAFKA_PORT))}")
    if action == "create":
        print("created:", ", ".join(ensure_topics(bootstrap)) or "nothing (all topics exist)")
        return 0
    if action == "raise":
        raised = raise_partitions(bootstrap)
        print("raised:", ", ".join(f"{n} {now} -> {want}" for n, (now, want) in raised.items()) or "nothing")
        return 0
    short = check(bootstrap)
    for name, (now, wanted) in short.items():
        print(f"{name}: {now} partitions, configured {wanted}")
    print("all topics have their configured partitions" if not short else "run `python -m infra.topics raise`")
    return 1 if short else 0


if __name__ == "__main__":
    sys.exit(main())
