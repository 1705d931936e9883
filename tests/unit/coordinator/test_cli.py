"""The ``retrovault`` CLI against a stubbed coordinator API (httpx's mock transport): what it asks and prints."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from coordinator.entrypoints import cli

NOW = datetime.now(UTC)
CLIENT = httpx.Client


def saga(saga_id: str, **fields: Any) -> dict[str, Any]:
    base = {
        "saga_id": saga_id,
        "order_id": f"order-{saga_id}",
        "state": "RUNNING",
        "current_step": "charge_payment",
        "attempts": 15,
        "stuck": False,
        "stuck_since": None,
        "stuck_reason": None,
        "failure_reason": None,
        "created_at": NOW.isoformat(),
        "finished_at": None,
        "waiting": False,
        "waiting_on": None,
        "waiting_since": None,
        "resends": 0,
        "gives_up_at": None,
        "history": [],
    }
    return base | fields


class Coordinator:
    """A stub of the coordinator's saga API that records every request."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages = pages
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "POST":
            saga_id = request.url.path.split("/")[2]
            replayed = {"saga_id": saga_id, "command": "RefundPayment", "action": "refund_payment"}
            return httpx.Response(200, json=replayed | {"message_id": "m-1", "attempt": 2, "state": "COMPENSATING"})
        if request.url.path.startswith("/sagas/"):
            return httpx.Response(200, json=self.pages[0][0])
        page = int(request.url.params.get("cursor", "0"))
        following = str(page + 1) if page + 1 < len(self.pages) else None
        return httpx.Response(200, json={"items": self.pages[page], "next_cursor": following})


def run(monkeypatch: pytest.MonkeyPatch, stub: Callable[[httpx.Request], httpx.Response], *argv: str) -> int:
    def client(**kwargs: Any) -> httpx.Client:
        return CLIENT(**kwargs, transport=httpx.MockTransport(stub))

    monkeypatch.setattr(httpx, "Client", client)
    return cli.main(list(argv))


def test_replay_failed_resumes_every_failed_saga_on_every_page(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = {"state": "FAILED", "finished_at": NOW.isoformat()}
    stub = Coordinator([[saga("a", **failed)], [saga("b", **failed)]])
    assert run(monkeypatch, stub, "sagas", "replay", "--failed") == 0
    asked = [(r.method, r.url.path, dict(r.url.params)) for r in stub.requests]
    assert asked == [
        ("GET", "/sagas", {"state": "FAILED", "limit": "500"}),
        ("GET", "/sagas", {"state": "FAILED", "limit": "500", "cursor": "1"}),
        ("POST", "/sagas/a/replay", {}),
        ("POST", "/sagas/b/replay", {}),
    ]
    assert capsys.readouterr().out.splitlines() == [
        "a: sent RefundPayment (refund_payment, message m-1, attempt 2)",
        "b: sent RefundPayment (refund_payment, message m-1, attempt 2)",
    ]


def test_replay_failed_older_than_skips_sagas_that_failed_recently(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = saga("old", state="FAILED", finished_at=(NOW - timedelta(hours=2)).isoformat())
    new = saga("new", state="FAILED", finished_at=NOW.isoformat())
    stub = Coordinator([[old, new]])
    assert run(monkeypatch, stub, "sagas", "replay", "--failed", "--older-than", "1h", "--dry-run", "--json") == 0
    assert [r.url.path for r in stub.requests if r.method == "POST"] == ["/sagas/old/replay"]
    assert stub.requests[-1].url.params["dry_run"] == "true"
    assert [r["saga_id"] for r in json.loads(capsys.readouterr().out)] == ["old"]


def test_replay_waiting_and_nothing_to_replay(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stub = Coordinator([[]])
    assert run(monkeypatch, stub, "sagas", "replay", "--waiting") == 0
    assert dict(stub.requests[0].url.params) == {"waiting": "true", "limit": "500"}
    assert capsys.readouterr().out == "no waiting sagas\n"


def test_list_and_show_say_what_a_saga_waits_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    since = NOW.replace(hour=12, minute=1, second=7, microsecond=0)
    gives_up = (since + timedelta(minutes=30)).isoformat()
    wait = {"waiting": True, "waiting_on": "payment", "waiting_since": since.isoformat(), "resends": 14}
    waiting = saga("w", **wait, gives_up_at=gives_up)
    stub = Coordinator([[waiting]])
    assert run(monkeypatch, stub, "sagas", "list", "--waiting") == 0
    assert dict(stub.requests[0].url.params) == {"limit": "20", "waiting": "true"}
    assert "waiting on payment since 12:01:07, 14 re-sends" in capsys.readouterr().out
    assert run(monkeypatch, stub, "sagas", "show", "w") == 0
    shown = capsys.readouterr().out
    assert (
        f"waiting on payment since 12:01:07, 14 re-sends (charge_payment; rolls back at {gives_up} without a " in shown
    )


def test_show_names_the_coordinator_and_participant_instance_of_each_step(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = {"at": NOW.isoformat(), "action": "reserve_stock", "message_id": None, "attempt": None, "detail": None}
    sent = entry | {"kind": "command_sent", "message_type": "ReserveStock", "attempt": 1, "instance": "coord-a"}
    received = entry | {"kind": "reply_received", "message_type": "StockReserved", "instance": "coord-b"}
    received["participant_instance"] = "catalog-2"
    older = entry | {"kind": "timed_out", "message_type": None, "instance": None, "participant_instance": None}
    stub = Coordinator([[saga("s", history=[sent, received, older])]])
    assert run(monkeypatch, stub, "sagas", "show", "s") == 0
    rows = [line.split("│") for line in capsys.readouterr().out.splitlines() if "reserve_stock" in line]
    cells = [[cell.strip() for cell in row] for row in rows]
    named = [
        (row[2], row[6], row[7])
        for row in cells
        if len(row) > 7 and row[2] in {"command_sent", "reply_received", "timed_out"}
    ]
    assert named == [("command_sent", "coord-a", ""), ("reply_received", "coord-b", "catalog-2"), ("timed_out", "", "")]
