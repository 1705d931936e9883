"""The relay never blocks behind one row: rows Kafka refuses for good are parked, the rows behind them flow on.

Rows are committed straight into the catalog's outbox (no relay in this process, so the catalog's relay finds
them by a scan), between two good rows: one over librdkafka's 1,000,000-byte ``message.max.bytes``, and one
for a topic that does not exist (the local broker does not create topics on demand).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import Consumer, Message, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from catalog.adapters.tables import outbox as catalog_outbox
from infra import kafka
from plumbing.outbox_rows import OutboxRow
from plumbing.refusals import MISSING_TOPIC_ATTEMPTS
from plumbing.unit_of_work import Transactions, UnitOfWork
from tests.support import api, database, query, wait_for

SERVICE = "catalog"
OVERSIZED = 1_000_001
LATE = b"row for a topic created later"


@pytest.fixture
def topics() -> Iterator[tuple[str, str]]:
    """A fresh topic the good rows go to, and the name of one that does not exist (deleted afterwards)."""
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers()})
    run = uuid.uuid4().hex[:8]
    good, missing = f"rv.test.parking-{run}", f"rv.test.missing-{run}"
    _create(admin, good)
    yield good, missing
    existing = set(admin.list_topics(timeout=10).topics)
    if doomed := [t for t in (good, missing) if t in existing]:
        for future in admin.delete_topics(doomed, operation_timeout=30).values():
            future.result(30)


def _create(admin: AdminClient, topic: str) -> None:
    for future in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
        future.result(30)


def _commit(rows: list[tuple[str, bytes]]) -> list[OutboxRow]:
    """Commit ``(topic, value)`` rows into the catalog's outbox in one transaction, as another process would."""
    units = Transactions(database(SERVICE), catalog_outbox, UnitOfWork)  # no relay here: commit only
    with units.begin() as uow:
        for topic, value in rows:
            headers = {"type": "ParkingTest", "message_id": str(uuid.uuid4())}
            uow.republish(topic=topic, key="parking-test", value=value, headers=headers)
    return uow.written


def _read(topic: str, count: int) -> list[Message]:
    """The first ``count`` messages of a one-partition topic (waits for them)."""
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers(), "group.id": f"parking-{uuid.uuid4()}"})
    consumer.assign([TopicPartition(topic, 0, 0)])
    found: list[Message] = []

    def read() -> bool:
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            found.append(message)
        return len(found) >= count

    try:
        wait_for(read, timeout_s=30, what=f"{count} message(s) on {topic}")
        assert consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (0, count)
    finally:
        consumer.close()
    return found


def _message_id(message: Message) -> str:
    value = dict(message.headers() or [])["message_id"]
    return value.decode() if isinstance(value, bytes) else str(value)


def _parked() -> dict[int, dict[str, Any]]:
    response = api(SERVICE).get("/outbox/parked")
    assert response.status_code == 200, response.text
    return {row["id"]: row for row in response.json()}


def _parked_gauge() -> float:
    text = api(SERVICE).get("/metrics").text
    match = re.search(rf'^rv_outbox_parked{{service="{SERVICE}"}} (\S+)$', text, re.MULTILINE)
    assert match, "rv_outbox_parked is not exported"
    return float(match.group(1))


def _outbox_holds(ids: list[int]) -> bool:
    return bool(query(SERVICE, "SELECT 1 FROM outbox WHERE id = ANY(:ids)", ids=ids))


def test_refused_rows_are_parked_the_rest_flow_on_and_operators_retry_or_discard_them(
    topics: tuple[str, str],
) -> None:
    good_topic, missing_topic = topics
    parked_before = _parked_gauge()
    first, oversized, missing, second = _commit(
        [
            (good_topic, b"first good row"),
            (good_topic, b"x" * OVERSIZED),
            (missing_topic, LATE),
            (good_topic, b"second good row"),
        ]
    )

    delivered = _read(good_topic, 2)
    assert [m.value() for m in delivered] == [b"first good row", b"second good row"]
    assert [_message_id(m) for m in delivered] == [
        first.headers["message_id"],
        second.headers["message_id"],
    ]

    def both_parked() -> dict[int, dict[str, Any]] | None:
        rows = _parked()
        return rows if {oversized.id, missing.id} <= rows.keys() else None

    parked = wait_for(both_parked, timeout_s=60, what="the oversized row and the missing topic's row to be parked")
    assert [row_id for row_id in parked if row_id in (oversized.id, missing.id)] == [missing.id, oversized.id]
    big, lost = parked[oversized.id], parked[missing.id]
    assert (big["topic"], big["size_bytes"], big["attempts"]) == (good_topic, OVERSIZED, 1)
    assert big["error"].startswith("MSG_SIZE_TOO_LARGE: ")
    assert (lost["topic"], lost["size_bytes"], lost["attempts"]) == (missing_topic, len(LATE), MISSING_TOPIC_ATTEMPTS)
    assert lost["error"].startswith("UNKNOWN_TOPIC_OR_PART: ")
    assert (big["message_id"], lost["message_id"]) == (oversized.headers["message_id"], missing.headers["message_id"])
    # The row behind the missing topic's row did not wait for it to be parked.
    second_sent = datetime.fromtimestamp(delivered[1].timestamp()[1] / 1000, UTC)
    assert second_sent < datetime.fromisoformat(lost["parked_at"])
    wait_for(lambda: not _outbox_holds([r.id for r in (first, oversized, missing, second)]), what="the outbox to drain")
    assert _parked_gauge() == parked_before + 2

    _create(AdminClient({"bootstrap.servers": kafka.bootstrap_servers()}), missing_topic)
    retried = api(SERVICE).post(f"/outbox/parked/{missing.id}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["id"] == missing.id and retried.json()["topic"] == missing_topic
    (republished,) = _read(missing_topic, 1)
    assert republished.value() == LATE
    assert _message_id(republished) == missing.headers["message_id"]
    wait_for(lambda: not _outbox_holds([retried.json()["outbox_id"]]), what="the retried row to leave the outbox")

    # A retried row Kafka still refuses is parked again (this time by the relay's hand-over path), under its new id.
    refused_again = api(SERVICE).post(f"/outbox/parked/{oversized.id}/retry").json()["outbox_id"]
    reparked = wait_for(lambda: _parked().get(refused_again), what="the oversized row to be parked again")
    assert (reparked["size_bytes"], reparked["attempts"], reparked["message_id"]) == (
        OVERSIZED,
        1,
        oversized.headers["message_id"],
    )

    discarded = api(SERVICE).delete(f"/outbox/parked/{refused_again}")
    assert discarded.status_code == 204, discarded.text
    again = api(SERVICE).delete(f"/outbox/parked/{refused_again}")
    assert again.status_code == 404 and again.headers["content-type"] == "application/problem+json"
    assert api(SERVICE).post(f"/outbox/parked/{missing.id}/retry").status_code == 404
    assert {oversized.id, missing.id, refused_again}.isdisjoint(_parked())
    assert not _outbox_holds([refused_again])
    assert _parked_gauge() == parked_before
