"""FAILED is never a dead end: an operator's ``retrovault sagas replay --failed`` finishes a saga that failed in
its compensation, even when the participant had already done the work and its confirmation was lost.

The saga is driven there for real, with the coordinator's patience shortened: payment is stopped, so the charge
gets no reply within its 3 s budget and the saga rolls back; payment then says it gave up on the refund
(``CommandFailed``, published as payment would), so the saga ends FAILED at ``refund_payment``. With the
coordinator down, payment comes back and settles the order's payment (with its driver, which sees the charge and
the refund together, by cancelling it uncharged; one command at a time, by charging and refunding it), and its
refund's confirmation is lost on the way
(the coordinator's offsets skip it, as when a reply is dead-lettered or outlives the topic's retention). The
replay re-sends the refund with its original message id: payment answers with the reply it recorded, once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from contracts.codecs import Codec
from contracts.envelope import wrap
from contracts.failures import CommandFailed
from contracts.topics import PAYMENT_COMMANDS, SAGA_REPLIES, Topic
from coordinator.engine.engine import command_id
from infra import kafka, services
from tests.support import (
    api,
    payment_intents,
    place_order,
    query,
    refunds,
    settled_order,
    settled_saga,
    stock,
    wait_for,
)

CLI = [str(Path(sys.executable).with_name("retrovault"))]
HURRIED = {"RV_SAGA_REPLY_TIMEOUT_S": "1", "RV_SAGA_BACKOFF_MAX_S": "2", "RV_SAGA_CHARGE_BUDGET_S": "3"}
SKU = "SNES-SMW"


def _restart_coordinator(extra_env: dict[str, str] | None = None) -> None:
    services.stop("coordinator")
    services.start("coordinator", extra_env=extra_env)
    services.wait_healthy("coordinator")


def _saga(order_id: str) -> dict[str, Any] | None:
    items: list[dict[str, Any]] = api("coordinator").get("/sagas", params={"order_id": order_id}).json()["items"]
    return items[0] if items else None


def _at(order_id: str, state: str, step: str) -> dict[str, Any] | None:
    saga = _saga(order_id)
    return saga if saga and (saga["state"], saga["current_step"]) == (state, step) else None


def _payment_gave_up_on_the_refund(saga: dict[str, Any]) -> None:
    """Publish payment's ``CommandFailed`` for the saga's refund, as payment's consumer does when it gives up.

    Its message id is a fresh one: the refund's own reply, should the refund succeed later, keeps the id derived
    from the command.
    """
    saga_id = uuid.UUID(saga["saga_id"])
    failed = CommandFailed(order_id=saga["order_id"], command="RefundPayment", reason="test: payment gave up")
    envelope = wrap(
        failed,
        correlation_id=saga["order_id"],
        saga_id=saga_id,
        causation_id=command_id(saga_id, "refund_payment"),
        message_id=uuid.uuid4(),
    )
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers()})
    headers: dict[str, str | bytes | None] = {"type": envelope.type, "message_id": str(envelope.message_id)}
    producer.produce(SAGA_REPLIES.name, Codec.encode(envelope), str(saga_id).encode(), headers=headers)
    assert producer.flush(10) == 0


def _ends(consumer: Consumer, topic: Topic) -> list[TopicPartition]:
    """Each partition of ``topic`` at its end (high watermark)."""
    partitions = consumer.list_topics(topic.name, timeout=10).topics[topic.name].partitions
    return [
        TopicPartition(topic.name, p, consumer.get_watermark_offsets(TopicPartition(topic.name, p), 10)[1])
        for p in sorted(partitions)
    ]


def _payment_done(order_id: str) -> bool:
    """Payment refunded or cancelled the order's payment, consumed every copy of its commands, and its replies left
    its outbox."""
    payment = api("payment").get(f"/payments/{order_id}")
    if payment.status_code != 200 or payment.json()["status"] not in ("REFUNDED", "CANCELLED"):
        return False
    group = Consumer({"bootstrap.servers": kafka.bootstrap_servers(), "group.id": "payment"})  # never subscribes
    try:
        ends = _ends(group, PAYMENT_COMMANDS)
        committed = group.committed([TopicPartition(tp.topic, tp.partition) for tp in ends], timeout=10)
    finally:
        group.close()
    caught_up = all(done.offset >= end.offset for done, end in zip(committed, ends, strict=True) if end.offset > 0)
    return caught_up and query("payment", "SELECT count(*) AS n FROM outbox")[0].n == 0


def _skip_unread_replies() -> bool:
    """Move the coordinator's group past every reply on its topic; False while the stopped coordinator is still
    a member (its static membership lasts until its session times out)."""
    bootstrap = kafka.bootstrap_servers()
    peek = Consumer({"bootstrap.servers": bootstrap, "group.id": f"peek-{uuid.uuid4()}"})
    try:
        ends = _ends(peek, SAGA_REPLIES)
    finally:
        peek.close()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    future = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions("coordinator", ends)])["coordinator"]
    try:
        moved = future.result(timeout=10)
    except KafkaException:
        return False
    return all(tp.error is None for tp in moved.topic_partitions)  # UNKNOWN_MEMBER_ID while it is a member


def retrovault(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], check=False, capture_output=True, text=True, timeout=120)


def test_replay_failed_finishes_a_saga_whose_refund_confirmation_was_lost() -> None:
    before = stock(SKU)
    hurried = False
    try:
        _restart_coordinator(HURRIED)
        hurried = True
        services.stop("payment")
        order_id = place_order([(SKU, 1)]).json()["order_id"]
        saga = wait_for(lambda: _at(order_id, "COMPENSATING", "refund_payment"), timeout_s=60, what="the refund")
        assert saga["failure_reason"].startswith("charge_payment got no reply in 3 s")
        assert stock(SKU) == before - 1
        _payment_gave_up_on_the_refund(saga)
        failed = wait_for(lambda: _at(order_id, "FAILED", "refund_payment"), timeout_s=30, what="the saga to fail")
        assert failed["failure_reason"].endswith("; then refund_payment failed: test: payment gave up")
        assert (failed["waiting"], failed["stuck"], failed["deadline_at"]) == (False, False, None)
        listed = json.loads(retrovault("sagas", "list", "--state", "FAILED", "--limit", "500", "--json").stdout)
        assert saga["saga_id"] in [s["saga_id"] for s in listed]

        services.stop("coordinator")
        services.start("payment")
        services.wait_healthy("payment")
        wait_for(lambda: _payment_done(order_id), timeout_s=90, what="payment to refund and catch up")
        wait_for(_skip_unread_replies, timeout_s=60, what="the coordinator's group to let its offsets move")
        _restart_coordinator()
        hurried = False
        still = _saga(order_id)
        assert still is not None and still["state"] == "FAILED" and still["current_step"] == "refund_payment"

        replayed = retrovault("sagas", "replay", "--failed", "--json")
        assert replayed.returncode == 0, replayed.stderr
        refund = command_id(uuid.UUID(saga["saga_id"]), "refund_payment")
        mine = [r for r in json.loads(replayed.stdout) if r["saga_id"] == saga["saga_id"]]
        assert [(r["command"], r["action"], r["message_id"]) for r in mine] == [
            ("RefundPayment", "refund_payment", str(refund))
        ]
    finally:
        services.start("payment")
        if hurried:
            _restart_coordinator()
        services.start("coordinator")
        services.wait_healthy("payment")
        services.wait_healthy("coordinator")

    assert settled_saga(order_id, timeout_s=60)["state"] == "COMPENSATED"
    assert settled_order(order_id)["status"] == "REJECTED"
    assert stock(SKU) == before
    [payment] = query("payment", "SELECT status FROM payments WHERE order_id = :o", o=order_id)
    if payment.status == "REFUNDED":  # charged, then refunded: once each
        (intent,) = payment_intents(order_id)
        assert intent.status == "succeeded" and len(refunds(intent.id)) == 1
    else:  # cancelled before anything was charged
        assert payment.status == "CANCELLED"
        assert [i.status for i in payment_intents(order_id) if i.status == "succeeded"] == []
    confirmations = query(
        "coordinator",
        "SELECT h.kind, h.detail FROM saga_history h JOIN sagas s USING (saga_id) "
        "WHERE s.order_id = :o AND h.action = 'refund_payment' AND h.kind IN ('reply_received', 'state_changed') "
        "ORDER BY h.id",
        o=order_id,
    )
    assert [(c.kind, c.detail) for c in confirmations] == [
        ("reply_received", "refund_payment failed: test: payment gave up"),
        ("state_changed", "FAILED"),
        ("state_changed", "compensation resumed by operator"),
        ("reply_received", None),
    ]
