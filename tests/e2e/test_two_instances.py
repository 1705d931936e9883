"""Two coordinators side by side: both full members of the group, neither fenced, the partitions split."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from contracts.topics import ORDER_EVENTS, SAGA_REPLIES, configured_partitions
from infra import services
from tests.support import wait_for

ALL = {f"{t.name}[{p}]" for t in (ORDER_EVENTS, SAGA_REPLIES) for p in range(configured_partitions(t))}


@pytest.fixture
def second_coordinator() -> Iterator[None]:
    services.start("coordinator", instance=2)
    try:
        services.wait_healthy("coordinator", instance=2)
        yield
    finally:
        services.stop("coordinator", instance=2)


def partitions(instance: int) -> tuple[int, dict[str, Any]] | None:
    answer = services.health_body("coordinator", instance=instance)
    return None if answer is None else (answer[0], answer[1])


def split() -> tuple[set[str], set[str]] | None:
    first, second = partitions(1), partitions(2)
    if first is None or second is None or first[0] != 200 or second[0] != 200:
        return None
    mine = set(first[1]["consumer_state"]["partitions"])
    theirs = set(second[1]["consumer_state"]["partitions"])
    return (mine, theirs) if mine and theirs and mine | theirs == ALL and not mine & theirs else None


def test_two_coordinators_share_the_partitions_and_neither_is_fenced(second_coordinator: None) -> None:
    mine, theirs = wait_for(split, timeout_s=60, what="the coordinators' partitions split between them")
    assert len(mine) + len(theirs) == len(ALL)
    watched_until = time.monotonic() + 20
    while time.monotonic() < watched_until:  # twenty seconds is the claim: both stay members all along
        for instance in (1, 2):
            answer = partitions(instance)
            assert answer is not None and answer[0] == 200, (instance, answer)
            assert answer[1]["consumer_state"]["state"] in ("running", "retrying"), (instance, answer[1])
            assert answer[1]["instance"] == str(instance)
        time.sleep(0.5)  # sampling interval of the 20-second watch
    assert split() is not None
