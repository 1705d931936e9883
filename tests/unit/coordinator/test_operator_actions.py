"""Operators' actions against fakes: a dead letter replayed or discarded (never both) with who did it, in the
saga's timeline too; the actor as the HTTP API reads it; no Kafka, no PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from contracts.catalog import ReserveStock
from contracts.envelope import wrap
from coordinator import letter_notes, services
from coordinator.entrypoints import dead_letter_views
from coordinator.entrypoints.dead_letters import DeadLettersController
from coordinator.letter_notes import saga_of
from coordinator.letters import AlreadyDisposed, discard_letter, replay_letter
from coordinator.settings import CoordinatorSettings
from plumbing.dead_letters import DeadLetter
from tests.samples import placed
from tests.unit.coordinator.fakes import FakeCoordinatorUnitOfWork, coordinator
from tests.unit.fakes import FakeUnitsOfWork
from tests.unit.http import Client, client_for


def letter_of(saga_id: uuid.UUID | None, *, value: bytes | None = None, ident: str = "0-7") -> DeadLetter:
    """A dead letter of a ReserveStock command of ``saga_id`` (or of the raw ``value``)."""
    envelope = wrap(ReserveStock(order_id="o1", lines=[]), correlation_id="o1", saga_id=saga_id)
    return DeadLetter(
        id=ident,
        topic="catalog.commands",
        partition="0",
        offset="3",
        service="catalog",
        reason="poison",
        message_id=str(envelope.message_id),
        message_type="ReserveStock",
        key="o1",
        value=msgspec.json.encode(envelope) if value is None else value,
        headers={"type": "ReserveStock", "dlq.reason": "poison", "dlq.topic": "catalog.commands"},
    )


@pytest.fixture
def units() -> FakeUnitsOfWork[FakeCoordinatorUnitOfWork]:
    return coordinator()


def started(units: FakeUnitsOfWork[FakeCoordinatorUnitOfWork]) -> uuid.UUID:
    saga = services.start_saga(units.uow, placed("o1"))
    assert saga is not None
    return saga.saga_id


def test_a_replayed_letter_of_a_saga_goes_back_through_the_outbox_and_into_the_saga_timeline(units: Any) -> None:
    saga_id = started(units)
    letter = letter_of(saga_id)

    done = replay_letter(units, letter, actor="demo-operator")

    assert (done.disposition, done.actor, done.replays) == ("replayed", "demo-operator", 1)
    assert units.uow.republished == [
        {"topic": "catalog.commands", "key": "o1", "value": letter.value, "headers": {"type": "ReserveStock"}}
    ]
    note = units.uow.sagas.history[-1]
    assert (note.saga_id, note.kind, note.actor) == (saga_id, "dead_letter_replayed", "demo-operator")
    assert str(note.message_id) == letter.message_id
    assert units.committed == 1


def test_a_discarded_letter_cannot_be_replayed_and_a_replayed_one_cannot_be_discarded(units: Any) -> None:
    saga_id = started(units)
    discard_letter(units, letter_of(saga_id, ident="0-1"), actor="demo-operator")
    with pytest.raises(AlreadyDisposed, match="0-1 was discarded by demo-operator: it cannot be replayed"):
        replay_letter(units, letter_of(saga_id, ident="0-1"), actor="cli:ops", again=True)
    replay_letter(units, letter_of(saga_id, ident="0-2"), actor="cli:ops")
    with pytest.raises(AlreadyDisposed, match="0-2 was replayed by cli:ops: it cannot be discarded"):
        discard_letter(units, letter_of(saga_id, ident="0-2"), actor="demo-operator")
    assert len(units.uow.republished) == 1
    assert units.uow.dispositions.rows["0-1"].disposition == "discarded"
    assert units.uow.dispositions.rows["0-2"].actor == "cli:ops"
    kinds = [e.kind for e in units.uow.sagas.history if e.kind.startswith("dead_letter")]
    assert kinds == ["dead_letter_discarded", "dead_letter_replayed"]


def test_a_replayed_letter_is_replayed_again_only_when_asked(units: Any) -> None:
    letter = letter_of(None)
    replay_letter(units, letter, actor="a")
    with pytest.raises(AlreadyDisposed, match="replay it again only deliberately"):
        replay_letter(units, letter, actor="b")
    again = replay_letter(units, letter, actor="b", again=True)
    assert (again.replays, again.actor) == (2, "b")
    assert len(units.uow.republished) == 2
    assert units.uow.sagas.history == []  # the letter names no saga


def test_a_letter_that_is_no_envelope_or_names_an_unknown_saga_touches_no_timeline(units: Any) -> None:
    assert saga_of(letter_of(None, value=b"\x00not json")) is None
    unknown = uuid.uuid4()
    assert saga_of(letter_of(unknown)) == unknown
    discard_letter(units, letter_of(unknown), actor="a")
    replay_letter(units, letter_of(None, value=b"{}", ident="0-9"), actor="a")
    assert units.uow.sagas.history == []


@pytest.fixture
def api(units: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    known = {"0-1": letter_of(None, ident="0-1")}
    monkeypatch.setattr(dead_letter_views, "find_dead_letter", lambda client, ident: known.get(ident))
    monkeypatch.setattr(letter_notes, "saga_of", lambda letter: None)
    with client_for([DeadLettersController], units, CoordinatorSettings.load()) as client:
        yield client


def test_the_api_records_the_gateways_subject_else_the_tools_name_else_direct(api: Client, units: Any) -> None:
    gateway = {"X-Authenticated-Subject": "demo-operator", "X-Operator": "cli:mallory"}
    assert api.post("/dead-letters/0-1/replay", headers=gateway).json()["actor"] == "demo-operator"
    again = api.post("/dead-letters/0-1/replay", params={"again": "true"}, headers={"X-Operator": "cli:ops"})
    assert (again.status_code, again.json()["actor"], again.json()["replays"]) == (200, "cli:ops", 2)
    assert api.post("/dead-letters/0-1/replay", params={"again": "true"}).json()["actor"] == "direct"


def test_the_api_refuses_a_second_action_with_409_naming_the_letter(api: Client) -> None:
    assert api.post("/dead-letters/0-1/discard", headers={"X-Operator": "cli:ops"}).status_code == 200
    replay = api.post("/dead-letters/0-1/replay")
    assert replay.status_code == 409
    assert replay.json()["detail"] == "ident: dead letter 0-1 was discarded by cli:ops: it cannot be replayed"
    assert api.post("/dead-letters/0-1/discard").status_code == 409
    assert api.post("/dead-letters/9-9/discard").status_code == 404


def test_a_malformed_operator_name_is_a_400_naming_the_header(api: Client) -> None:
    response = api.post("/dead-letters/0-1/replay", headers={"X-Operator": "two words"})
    assert response.status_code == 400
    assert "X-Operator" in response.text
