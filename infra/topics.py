"""Creates the project's Kafka topics with their configured partition counts, checks and raises them.

``python -m infra.topics [create|check|raise]``: ``create`` (the default) makes the missing topics, ``check``
lists topics with fewer partitions than configured (exit status 1 if any), ``raise`` adds the missing partitions
(Kafka can only add partitions: keys then move, see docs/architecture.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewPartitions

from contracts.topics import ALL_TOPICS
from plumbing.kafka import client_of, topic_shortfalls
from plumbing.provision import ensure_topics


def check(kafka: str | Mapping[str, Any], timeout_s: float = 30.0) -> dict[str, tuple[int, int]]:
    """Topics with fewer partitions than configured: name -> (partitions now, configured); 0 when missing."""
    return topic_shortfalls(kafka, [t.name for t in ALL_TOPICS], timeout_s)


def raise_partitions(kafka: str | Mapping[str, Any], timeout_s: float = 30.0) -> dict[str, tuple[int, int]]:
    """Add partitions to every existing topic that has fewer than configured; returns what was raised."""
    short = {name: counts for name, counts in check(kafka, timeout_s).items() if counts[0] > 0}
    if not short:
        return {}
    admin = AdminClient(client_of(kafka))
    futures = admin.create_partitions(
        [NewPartitions(name, wanted) for name, (_now, wanted) in short.items()], operation_timeout=timeout_s
    )
    for future in futures.values():
        future.result(timeout_s)
    return short


def main(argv: list[str] | None = None) -> int:
    """``python -m infra.topics [create|check|raise]`` on ``$RV_KAFKA_BOOTSTRAP`` (with its security settings)."""
    from plumbing.kafka_settings import KafkaSettings

    parser = argparse.ArgumentParser(prog="python -m infra.topics", description=__doc__)
    parser.add_argument("action", nargs="?", choices=["create", "check", "raise"], default="create")
    action = parser.parse_args(argv).action
    kafka = KafkaSettings.load_or_exit().kafka_client()
    if action == "create":
        print("created:", ", ".join(ensure_topics(kafka)) or "nothing (all topics exist)")
        return 0
    if action == "raise":
        raised = raise_partitions(kafka)
        print("raised:", ", ".join(f"{n} {now} -> {want}" for n, (now, want) in raised.items()) or "nothing")
        return 0
    short = check(kafka)
    for name, (now, wanted) in short.items():
        print(f"{name}: {now} partitions, configured {wanted}")
    print("all topics have their configured partitions" if not short else "run `python -m infra.topics raise`")
    return 1 if short else 0


if __name__ == "__main__":
    sys.exit(main())
