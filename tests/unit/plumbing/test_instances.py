"""Many instances of a service: each its own identity (static membership only with an explicit id), partition
counts from configuration, and ``/health`` telling a standby instance from one a rebalance left without
partitions for too long."""

from __future__ import annotations

import os
import socket

import pytest
from confluent_kafka import TopicPartition

from contracts.topics import CATALOG_COMMANDS, DEAD_LETTERS, PRODUCT_EVENTS, configured_partitions
from plumbing.consumer_state import ConsumerState
from plumbing.kafka import consumer_config
from plumbing.settings import ServiceSettings
from tests.unit.plumbing.test_health import Service

PARTITIONS = [TopicPartition("catalog.commands", 0)]


def test_without_an_instance_id_each_process_is_a_dynamic_member_named_after_host_and_pid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RV_INSTANCE_ID", raising=False)
    settings = ServiceSettings.from_env("coordinator")
    assert settings.instance_id == f"{socket.gethostname()}-{os.getpid()}" and not settings.static_instance
    config = consumer_config(
        {"bootstrap.servers": "k:1"}, "coordinator", settings.instance_id, static=settings.static_instance
    )
    assert "group.instance.id" not in config
    assert config["client.id"] == f"coordinator-{settings.instance_id}"
    assert config["partition.assignment.strategy"] == "cooperative-sticky"


def test_an_explicit_instance_id_gives_static_membership(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RV_INSTANCE_ID", "b-2.x_y")
    settings = ServiceSettings.from_env("catalog")
    assert (settings.instance_id, settings.static_instance) == ("b-2.x_y", True)
    config = consumer_config({"bootstrap.servers": "k:1"}, "catalog", settings.instance_id, static=True)
    assert (config["group.instance.id"], config["client.id"], config["group.id"]) == (
        "catalog-b-2.x_y",
        "catalog-b-2.x_y",
        "catalog",
    )


@pytest.mark.parametrize("bad", ["", "a b", "x/y", "é", "a" * 65])
def test_an_instance_id_that_does_not_fit_is_refused(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("RV_INSTANCE_ID", bad)
    with pytest.raises(ValueError, match=r"RV_INSTANCE_ID=.*: must be 1-64 characters of \[A-Za-z0-9_.-\]"):
        ServiceSettings.from_env("catalog")


def test_partition_counts_come_from_configuration() -> None:
    assert [configured_partitions(t, {}) for t in (CATALOG_COMMANDS, PRODUCT_EVENTS, DEAD_LETTERS)] == [12, 1, 1]
    shared = {"RV_TOPIC_PARTITIONS": "24"}
    assert [configured_partitions(t, shared) for t in (CATALOG_COMMANDS, PRODUCT_EVENTS, DEAD_LETTERS)] == [24, 1, 1]
    own = {**shared, "RV_TOPIC_PARTITIONS_CATALOG_COMMANDS": "6", "RV_TOPIC_PARTITIONS_CATALOG_PRODUCTS": "3"}
    assert [configured_partitions(t, own) for t in (CATALOG_COMMANDS, PRODUCT_EVENTS, DEAD_LETTERS)] == [6, 3, 1]


def test_an_instance_the_group_gives_no_partition_is_a_healthy_standby() -> None:
    service = Service()
    service.consumer.state.assigned([])
    status, body = service.health()
    assert (status, body["status"], body["consumer_state"]["state"]) == (200, "ok", "standby")
    assert body["consumer_state"]["reason"] == "no partitions assigned: more instances than partitions"
    assert body["consumer_state"]["unassigned_since"] is not None and body["topics"] == {}


def test_an_instance_left_without_partitions_is_healthy_during_a_rebalance_then_unavailable() -> None:
    now = [1000.0]
    state = ConsumerState(rebalance_grace_s=15.0, clock=lambda: now[0])
    state.assigned(PARTITIONS)
    assert state.snapshot()["unassigned_since"] is None
    now[0] = 1001.0
    state.revoked(PARTITIONS, why="lost")
    snapshot = state.snapshot()
    assert (snapshot["state"], snapshot["reason"], snapshot["unassigned_since"]) == (
        "unassigned",
        "no partitions assigned (lost)",
        1001.0,
    )
    now[0] = 1015.9
    assert state.problem() is None
    now[0] = 1016.0
    assert state.problem() == "consumer unassigned: no partitions assigned (lost)"
    state.assigned(PARTITIONS)
    assert state.problem() is None and state.snapshot()["unassigned_since"] is None


def test_a_fenced_instance_is_unavailable_at_once_whatever_the_grace() -> None:
    state = ConsumerState(rebalance_grace_s=60.0)
    state.assigned(PARTITIONS)
    state.fenced("Fatal error: FENCED_INSTANCE_ID")
    assert state.problem() == "consumer fenced: Fatal error: FENCED_INSTANCE_ID"
