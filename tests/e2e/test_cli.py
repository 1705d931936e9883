"""The ``retrovault`` CLI, run as a user runs it (a subprocess), against the real stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra import services
from tests.support import (
    api,
    payment_intents,
    place_order,
    query,
    settled_order,
    settled_saga,
    trace_spans,
    wait_for,
)

CLI = [str(Path(sys.executable).with_name("retrovault"))]


def retrovault(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], check=False, capture_output=True, text=True, timeout=120)


def _one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("retrovault: error:"), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_every_command_has_help() -> None:
    for command in (
        [],
        ["sagas", "list"],
        ["sagas", "show"],
        ["sagas", "replay"],
        ["sagas", "summary"],
        ["dlq", "list"],
        ["dlq", "replay"],
        ["orders", "place"],
        ["orders", "show"],
        ["outbox", "parked"],
        ["outbox", "retry"],
        ["outbox", "discard"],
    ):
        result = retrovault(*command, "--help")
        assert result.returncode == 0 and "usage: retrovault" in result.stdout


def test_place_an_order_and_follow_its_saga() -> None:
    placed = retrovault("orders", "place", "SNES-SMW:1", "NES-METROID", "--wait", "--json")
    assert placed.returncode == 0, placed.stderr
    order = json.loads(placed.stdout)
    assert order["status"] == "APPROVED"
    assert [(i["sku"], i["quantity"]) for i in order["items"]] == [("SNES-SMW", 1), ("NES-METROID", 1)]
    saga = settled_saga(order["order_id"])
    shown = retrovault("sagas", "show", saga["saga_id"])
    assert shown.returncode == 0 and "approve_order" in shown.stdout and "COMPLETED" in shown.stdout
    listed = json.loads(retrovault("sagas", "list", "--state", "COMPLETED", "--limit", "50", "--json").stdout)
    assert saga["saga_id"] in [s["saga_id"] for s in listed]
    summary = json.loads(retrovault("sagas", "summary", "--json").stdout)
    assert summary["by_state"]["COMPLETED"] >= 1 and summary["durations"]["completed"] >= 1


def test_errors_are_one_line_and_exit_non_zero() -> None:
    _one_line_error(retrovault("orders", "place", "NOPE-1", "--wait"), "orders answered 422", "unknown sku")
    _one_line_error(retrovault("--coordinator", "http://127.0.0.1:9", "sagas", "list"), "cannot reach coordinator")
    _one_line_error(retrovault("sagas", "replay"), "SAGA_ID or --stuck")
    _one_line_error(retrovault("sagas", "show", "not-a-uuid"), "coordinator answered 404")
    bad_duration = retrovault("sagas", "replay", "--stuck", "--older-than", "soon")
    assert bad_duration.returncode == 2 and "expected a duration" in bad_duration.stderr


def test_replay_refuses_a_finished_saga() -> None:
    order_id = place_order([("GB-TETRIS", 1)]).json()["order_id"]
    saga = settled_saga(order_id)
    _one_line_error(retrovault("sagas", "replay", saga["saga_id"]), "409", "COMPLETED", "nothing to replay")


def test_a_waiting_saga_is_shown_and_replay_finishes_it_with_one_charge() -> None:
    services.stop("payment")
    try:
        order_id = place_order([("PS1-FF7", 1)]).json()["order_id"]
        saga = wait_for(
            lambda: next(iter(api("coordinator").get("/sagas", params={"order_id": order_id, "waiting": "true"})
                              .json()["items"]), None),
            timeout_s=60,
            what="the saga to wait on payment at charge_payment",
        )  # fmt: skip
        assert saga["current_step"] == "charge_payment" and saga["waiting_since"] and saga["waiting_on"] == "payment"
        assert saga["resends"] >= 1 and saga["gives_up_at"]
        assert (saga["stuck"], saga["stuck_since"], saga["stuck_reason"]) == (False, None, None)  # within its budget
        waiting = json.loads(retrovault("sagas", "list", "--waiting", "--json").stdout)
        assert saga["saga_id"] in [s["saga_id"] for s in waiting]
        stuck = json.loads(retrovault("sagas", "list", "--stuck", "--json").stdout)
        assert saga["saga_id"] not in [s["saga_id"] for s in stuck]
        shown = retrovault("sagas", "show", saga["saga_id"])
        assert shown.returncode == 0 and "waiting on payment since" in shown.stdout
        dry = retrovault("sagas", "replay", "--waiting", "--dry-run")
        assert dry.returncode == 0 and f"{saga['saga_id']}: would send ChargePayment" in dry.stdout
    finally:
        services.start("payment")
        services.wait_healthy("payment")
    replayed = retrovault("sagas", "replay", "--waiting", "--older-than", "1s", "--json")
    assert replayed.returncode == 0, replayed.stderr
    assert settled_order(order_id, timeout_s=60)["status"] == "APPROVED"
    assert settled_saga(order_id)["state"] == "COMPLETED"
    assert [pi.status for pi in payment_intents(order_id)] == ["succeeded"]
    (payment,) = query("payment", "SELECT status FROM payments WHERE order_id = :o", o=order_id)
    assert payment.status == "SUCCEEDED"
    # The deadline's re-sends joined the order's trace (the saga row keeps its trace context).
    (saga_row,) = query("coordinator", "SELECT trace_context FROM sagas WHERE order_id = :o", o=order_id)
    trace_id = saga_row.trace_context.split("-")[1]

    def resent_in_trace() -> list[dict[str, Any]] | None:
        spans = trace_spans(trace_id)
        resent = [s for s in spans if s["service"] == "coordinator" and s["name"] == "deadline charge_payment"]
        charged = [s for s in spans if s["service"] == "payment" and s["kind"] == "CONSUMER"]
        return spans if resent and charged else None

    wait_for(resent_in_trace, timeout_s=30, what=f"the deadline's re-send to show in trace {trace_id}")


def test_dead_letters_are_listed_and_can_be_resubmitted() -> None:
    from confluent_kafka import Producer

    from infra import kafka

    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers()})
    producer.produce("orders.commands", b"not json at all", key=b"cli-test")
    producer.flush(10)

    def newest() -> dict[str, str] | None:
        letters = json.loads(retrovault("dlq", "list", "--limit", "20", "--json").stdout)
        return next((d for d in reversed(letters) if d["key"] == "cli-test"), None)

    letter = wait_for(newest, timeout_s=30, what="the dead letter to be listed")
    assert letter["topic"] == "orders.commands" and letter["reason"].startswith("invalid message")
    before = int(api("orders").get("/health").json()["consumer"]["dead_lettered"])
    again = retrovault("dlq", "replay", letter["id"])
    assert again.returncode == 0 and "re-submitted" in again.stdout
    # Still garbage, so orders refuses it again: the re-submission really reached its consumer.
    wait_for(
        lambda: int(api("orders").get("/health").json()["consumer"]["dead_lettered"]) > before,
        timeout_s=30,
        what="orders to see the re-submitted message",
    )
    _one_line_error(retrovault("dlq", "replay", "no-such-letter"), "404")


def test_replay_failed_and_its_errors() -> None:
    dry = retrovault("sagas", "replay", "--failed", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert all(r["dry_run"] and r["state"] in ("RUNNING", "COMPENSATING") for r in json.loads(dry.stdout))  # resumed
    _one_line_error(retrovault("sagas", "replay", "--stuck", "--failed"), "SAGA_ID or --stuck", "one of them")
    _one_line_error(retrovault("sagas", "replay", "--older-than", "5m"), "SAGA_ID or --stuck")
    summary = json.loads(retrovault("sagas", "summary", "--json").stdout)
    assert summary["waiting"] >= summary["stuck"] >= 0
