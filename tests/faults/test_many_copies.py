"""Two instances of every service: killed and restarted at random while a third coordinator joins and leaves,
then one stopped gracefully under load, then the broker restarted while the coordinators' group rebalances;
every invariant holds and the partitions are taken over."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest
from confluent_kafka import ConsumerGroupState
from confluent_kafka.admin import AdminClient

from coordinator.entrypoints.messages import ROUTES as COORDINATOR_ROUTES
from infra import kafka, services
from tests.faults.harness import Run, begin, check_invariants, during, expected_statuses, restock, settle
from tests.support import wait_for

pytestmark = pytest.mark.faults

SECOND, THIRD = 2, 3
INSTANCES = (1, SECOND)
KILLS = 4
SETTLE_S = 90.0
HANDOVER_S = 20.0
"""SIGTERM to the partitions held by the other instance: the graceful stop, then a rebalance (a static member's
partitions move only once its session times out, 10 s)."""


def _start_all(instance: int) -> None:
    for name in services.SERVICES:
        services.start(name, instance=instance)
    for name in services.SERVICES:
        services.wait_healthy(name, instance=instance)


@pytest.fixture(scope="module")
def second_copies(real_stack: None) -> Iterator[None]:
    """Every extra instance a test of this module started is stopped at the end, whatever happened."""
    try:
        yield
    finally:
        for name in reversed(services.SERVICES):
            for instance in (THIRD, SECOND):
                services.stop(name, instance=instance)


def _held(service: str, instance: int) -> set[str]:
    """The partitions ``/health`` says the instance holds (none when it does not answer)."""
    answer = services.health_body(service, instance=instance)
    if answer is None:
        return set()
    state = answer[1]["consumer_state"]
    assert isinstance(state, dict)
    return set(state["partitions"])


def _partitions(topics: list[str]) -> set[str]:
    """Every partition of ``topics``, as ``/health`` names them: ``topic[n]``."""
    found = AdminClient({"bootstrap.servers": kafka.bootstrap_servers()}).list_topics(timeout=10).topics
    return {f"{topic}[{partition}]" for topic in topics for partition in found[topic].partitions}


def test_two_of_everything_killed_at_random_while_a_third_coordinator_joins_and_leaves(
    second_copies: None,
) -> None:
    _start_all(SECOND)
    orders = 80
    rng = random.Random(20)  # kills at orders 8, 26, 46 and 57; the third coordinator is there from 16 to 48
    targets = rng.sample([(name, k) for name in services.SERVICES for k in INSTANCES], KILLS)
    kills = zip(sorted(rng.sample(range(5, orders - 5), KILLS)), targets, strict=True)
    schedule = [(moment, "kill", target) for moment, target in kills]
    schedule += [(orders // 5, "join", ("coordinator", THIRD)), (orders * 3 // 5, "leave", ("coordinator", THIRD))]
    killed: list[str] = []

    def fault(run: Run) -> None:
        for moment, what, (name, instance) in sorted(schedule):
            run.wait_placed(moment)
            if what == "join":
                services.start(name, instance=instance)
            elif what == "leave":
                services.wait_healthy(name, instance=instance)  # it did join: it holds partitions
                services.stop(name, instance=instance)
            else:
                killed.append(services.daemon_name(name, instance))
                services.kill(name, instance=instance)
                services.start(name, instance=instance)  # no wait: the next kill may hit it while it starts
        for instance in INSTANCES:
            _start_all(instance)

    restock()
    run = begin()
    during(run, orders, fault, pause_s=0.4)  # about 40 s of orders
    settled = settle(run, timeout_s=SETTLE_S)
    counts = check_invariants(run, settled)
    assert killed == ["orders", "coordinator-2", "payment-2", "catalog"]
    assert {o.order_id: o.status for o in settled} == expected_statuses(settled)
    assert set(counts) == {"APPROVED", "REJECTED"}


def test_an_instance_stopped_under_load_hands_its_partitions_over_and_loses_nothing(second_copies: None) -> None:
    _start_all(SECOND)
    expected = _partitions(list(COORDINATOR_ROUTES))
    wait_for(
        lambda: (
            _held("coordinator", 1) | _held("coordinator", SECOND) == expected
            and _held("coordinator", 1).isdisjoint(_held("coordinator", SECOND))
        ),
        timeout_s=30,
        what="the two coordinators to share every partition",
    )
    took: list[float] = []

    def fault(run: Run) -> None:
        run.wait_placed(15)
        started = time.monotonic()
        services.stop("coordinator", instance=SECOND)  # SIGTERM: finish the batch, flush the outbox, leave
        wait_for(
            lambda: _held("coordinator", 1) == expected,
            timeout_s=HANDOVER_S,
            what="coordinator 1 to hold every partition coordinator 2 had",
        )
        took.append(time.monotonic() - started)

    run = begin()
    during(run, 40, fault, pause_s=0.2)
    check_invariants(run, settle(run, timeout_s=SETTLE_S))
    assert len(took) == 1 and took[0] < HANDOVER_S


REBALANCING = (ConsumerGroupState.PREPARING_REBALANCING, ConsumerGroupState.COMPLETING_REBALANCING)


def _split_between(instances: tuple[int, ...], expected: set[str]) -> bool:
    """Each coordinator instance holds partitions, no partition held twice, every one held."""
    held = [_held("coordinator", instance) for instance in instances]
    return all(held) and sum(map(len, held)) == len(expected) and set().union(*held) == expected


def test_a_broker_restart_during_a_rebalance_applies_nothing_twice_and_skips_nothing(second_copies: None) -> None:
    _start_all(SECOND)
    expected = _partitions(list(COORDINATOR_ROUTES))
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers()})
    caught: list[ConsumerGroupState] = []

    def rebalancing() -> ConsumerGroupState | None:
        (described,) = admin.describe_consumer_groups(["coordinator"], request_timeout=5).values()
        state: ConsumerGroupState = described.result().state
        return state if state in REBALANCING else None

    def fault(run: Run) -> None:
        run.wait_placed(10)
        services.start("coordinator", instance=THIRD)  # it joins: the group rebalances
        caught.append(wait_for(rebalancing, timeout_s=60, what="the coordinators' group to be rebalancing"))
        kafka.kill()  # mid-rebalance: the group's state on the broker is what it wrote to its log so far
        kafka.start()
        for instance in (1, SECOND, THIRD):
            services.wait_healthy("coordinator", instance=instance)
        wait_for(
            lambda: _split_between((1, SECOND, THIRD), expected),
            timeout_s=60,
            what="the three coordinators to share every partition once the broker is back",
        )

    run = begin()
    during(run, 40, fault, pause_s=0.3)  # about 12 s of orders, the broker down for part of them
    check_invariants(run, settle(run, timeout_s=SETTLE_S))
    assert len(caught) == 1 and caught[0] in REBALANCING
