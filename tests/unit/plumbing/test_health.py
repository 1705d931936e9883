"""``/health`` tells the truth: 503 with the reason while the consumer is fenced, restarting, unassigned or
crashed, or a worker died; the consumer's state and partitions in the body."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import pytest
from confluent_kafka import TopicPartition
from litestar import Litestar
from litestar.testing import TestClient

from plumbing.batches import ConsumerStats
from plumbing.consumer_state import ConsumerState
from plumbing.runtime import Workers
from plumbing.wiring import Messaging, health_route
from tests.unit.plumbing.fakes import OUTBOX

PARTITIONS = [TopicPartition("catalog.commands", 1), TopicPartition("catalog.commands", 0)]


class FakeConnection:
    def execute(self, _statement: Any) -> Any:
        return self

    def scalar_one(self) -> int:
        return 3


class FakeTransactions:
    outbox = OUTBOX

    @contextmanager
    def read(self) -> Iterator[Any]:
        yield type("Uow", (), {"conn": FakeConnection()})()


class FakeConsumer:
    def __init__(self) -> None:
        self.state = ConsumerState()
        self.stats = ConsumerStats(applied=5)


class Service:
    def __init__(self) -> None:
        self.consumer = FakeConsumer()
        self.workers = Workers([])
        relay = type("Relay", (), {"published": 9})()
        messaging: Messaging[Any] = Messaging(
            relay, cast(Any, self.consumer), self.workers, cast(Any, FakeTransactions())
        )
        self.app = Litestar([health_route(messaging)])

    def health(self) -> tuple[int, dict[str, Any]]:
        with TestClient(self.app) as client:
            response = client.get("/health")
        return response.status_code, response.json()


@pytest.fixture
def service() -> Service:
    return Service()


def test_a_consumer_with_its_partitions_is_healthy(service: Service) -> None:
    service.consumer.state.assigned(PARTITIONS)
    status, body = service.health()
    assert status == 200
    assert body["status"] == "ok" and body["reason"] is None and body["consumer_assigned"] is True
    assert body["consumer_state"]["state"] == "running"
    assert body["consumer_state"]["partitions"] == ["catalog.commands[0]", "catalog.commands[1]"]
    assert body["outbox_backlog"] == 3 and body["published"] == 9 and body["consumer"]["applied"] == 5


def test_a_consumer_not_yet_assigned_is_starting(service: Service) -> None:
    status, body = service.health()
    assert (status, body["status"], body["consumer_assigned"]) == (503, "starting", False)
    assert body["reason"] == "consumer starting"


def test_a_fenced_consumer_is_unavailable_until_its_replacement_has_partitions(service: Service) -> None:
    state = service.consumer.state
    state.assigned(PARTITIONS)
    state.fenced('KafkaError{code=_FATAL,val=-150,str="Fatal error: FENCED_INSTANCE_ID"}')
    status, body = service.health()
    assert (status, body["status"]) == (503, "unavailable")
    assert body["reason"].startswith("consumer fenced: KafkaError{code=_FATAL")
    state.restarting("replacing the Kafka consumer after: fenced")
    status, body = service.health()
    assert status == 503 and body["reason"] == "consumer restarting: replacing the Kafka consumer after: fenced"
    assert body["consumer_state"]["partitions"] == []
    state.assigned(PARTITIONS[:1])
    assert service.health()[0] == 200


def test_a_consumer_whose_partitions_were_revoked_is_unavailable(service: Service) -> None:
    state = service.consumer.state
    state.assigned(PARTITIONS)
    state.revoked(PARTITIONS[:1])
    assert service.health()[0] == 200
    state.revoked(PARTITIONS[1:])
    status, body = service.health()
    assert (status, body["reason"]) == (503, "consumer unassigned: no partitions assigned")


def test_a_consumer_retrying_a_batch_stays_healthy_and_says_why(service: Service) -> None:
    state = service.consumer.state
    state.assigned(PARTITIONS)
    state.retrying("a dependency is unavailable: RetryLater('stripe')")
    status, body = service.health()
    assert status == 200 and body["consumer_state"]["state"] == "retrying"
    assert body["consumer_state"]["reason"] == "a dependency is unavailable: RetryLater('stripe')"
    state.applied()
    after = service.health()[1]["consumer_state"]
    assert (after["state"], after["reason"]) == ("running", None)


def test_a_crashed_consumer_or_worker_is_unavailable_until_the_process_is_down(service: Service) -> None:
    service.consumer.state.assigned(PARTITIONS)
    service.workers.crashed["outbox-relay"] = "RuntimeError('boom')"
    status, body = service.health()
    assert (status, body["reason"]) == (503, "worker outbox-relay crashed: RuntimeError('boom')")
    assert body["workers_crashed"] == {"outbox-relay": "RuntimeError('boom')"}
    service.consumer.state.crashed("RecursionError()")
    assert service.health()[1]["reason"].endswith("; consumer crashed: RecursionError()")


def test_a_stopping_consumer_is_unavailable(service: Service) -> None:
    service.consumer.state.assigned(PARTITIONS)
    service.consumer.state.stopped()
    assert service.health()[1]["reason"] == "consumer stopped: the service is stopping"
