"""``retrovault outbox``: which service each command asks, and what it prints (the services' APIs faked)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from coordinator.entrypoints import cli_outbox
from coordinator.entrypoints.cli_http import CliError

ROW = {
    "id": 42,
    "topic": "catalog.products",
    "key": "SNES-SMW",
    "message_type": "ProductChanged",
    "message_id": "3f1c",
    "size_bytes": 1_000_001,
    "error": "MSG_SIZE_TOO_LARGE: Broker: Message size too large",
    "attempts": 1,
    "created_at": "2026-05-01T12:00:00Z",
    "parked_at": "2026-05-01T12:00:01Z",
}


@dataclass
class FakeApi:
    """One service's API: its parked rows, and the calls it got."""

    name: str
    parked: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        self.calls.append((method, path))
        if self.name == "payment":
            raise CliError("cannot reach payment at http://127.0.0.1:8103: connection refused")
        if method == "GET":
            return self.parked
        if method == "POST":
            return {"id": 42, "outbox_id": 57, "topic": "catalog.products"}
        return None


@pytest.fixture
def apis(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeApi]:
    fakes = {name: FakeApi(name) for name in ("catalog", "orders", "payment", "coordinator")}
    fakes["catalog"].parked = [ROW]
    monkeypatch.setattr(cli_outbox, "service_api", lambda name: fakes[name])
    return fakes


def run(*argv: str) -> None:
    parser = argparse.ArgumentParser(prog="retrovault")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true")
    cli_outbox.register(parser.add_subparsers(dest="group", required=True), common)
    args = parser.parse_args(argv)
    args.run(args, None)


def test_parked_lists_one_service_or_every_one(apis: dict[str, FakeApi], capsys: pytest.CaptureFixture[str]) -> None:
    run("outbox", "parked", "--service", "catalog", "--json")
    assert json.loads(capsys.readouterr().out) == [{"service": "catalog", **ROW}]
    run("outbox", "parked", "--service", "orders")
    assert capsys.readouterr().out.strip() == "nothing parked in orders"
    with pytest.raises(CliError, match="cannot reach payment"):
        run("outbox", "parked")  # every service, in order: catalog, orders, then payment fails
    assert [len(api.calls) for api in apis.values()] == [2, 2, 1, 0]  # coordinator never asked


def test_retry_and_discard_ask_the_service_named(apis: dict[str, FakeApi], capsys: pytest.CaptureFixture[str]) -> None:
    run("outbox", "retry", "catalog", "42")
    assert "catalog: parked row 42 is back in the outbox as row 57" in capsys.readouterr().out
    run("outbox", "discard", "catalog", "42")
    assert capsys.readouterr().out.strip() == "catalog: parked row 42 discarded"
    assert apis["catalog"].calls == [("POST", "/outbox/parked/42/retry"), ("DELETE", "/outbox/parked/42")]


def test_an_unknown_service_is_refused_by_the_parser(apis: dict[str, FakeApi]) -> None:
    with pytest.raises(SystemExit):
        run("outbox", "retry", "billing", "42")
