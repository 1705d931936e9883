"""Operators' actions against fakes: a dead letter replayed or discarded (never both) with who did it, in the
saga's timeline too; a letter of a saga that moved on replayed only when forced; a message id on several letters
names none; the actor as the HTTP API reads it; no Kafka, no PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import msgspec
import pytest

from contracts.catalog import ReserveStock
from contracts.envelope import wrap
from coordinator import letter_notes, services
from coordinator.engine.instance import SagaState
from coordinator.entrypoints import dead_letter_views
from coordinator.entrypoints.dead_letters import DeadLettersController
from coordinator.letter_notes import saga_of
from coordinator.letter_refusals import AlreadyDisposed, SagaMovedOn
from coordinator.letters import discard_letter, replay_letter
from coordinator.settings import CoordinatorSettings
from plumbing import dead_letters
from plumbing.dead_letters import AmbiguousLetter, DeadLetter, find_dead_letter
from tests.samples import placed
from tests.unit.coordinator.fakes import FakeCoordinatorUnitOfWork, coordinator
from tests.unit.fakes import FakeUnitsOfWork
from tests.unit.http import Client, client_for


def letter_of(
    saga_id: uuid.UUID | None, *, value: bytes | None = None, ident: str = "0-7", timestamp_ms: int = 1_700_000_000_000
) -> DeadLetter:
    """A dead letter of a ReserveStock command of ``saga_id`` (or of the raw ``value``), written at ``timestamp_ms``."""
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
        timestamp_ms=timestamp_ms,
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
    assert units.uow.dispositions.rows["0-1@1700000000000"].disposition == "discarded"
    assert units.uow.dispositions.rows["0-2@1700000000000"].actor == "cli:ops"
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


@pytest.mark.parametrize("state", [s for s in SagaState if s is not SagaState.RUNNING])
def test_a_letter_of_a_saga_that_moved_on_is_replayed_only_when_forced(units: Any, state: SagaState) -> None:
    saga_id = started(units)
    units.uow.sagas.rows[saga_id].state = state
    letter = letter_of(saga_id)

    with pytest.raises(SagaMovedOn, match=f"0-7 belongs to saga {saga_id}, which is {state}: .*force=true"):
        replay_letter(units, letter, actor="a")
    assert (units.uow.republished, units.uow.dispositions.rows, units.committed) == ([], {}, 0)

    forced = replay_letter(units, letter, actor="b", force=True)
    assert (forced.replays, forced.actor, len(units.uow.republished)) == (1, "b", 1)
    assert (
        units.uow.sagas.history[-1].detail
        == f"dead letter 0-7 re-submitted to catalog.commands (forced: the saga was {state})"
    )
    discard_letter(units, letter_of(saga_id, ident="0-8"), actor="c")  # discarding is always safe
    assert units.uow.dispositions.rows["0-8@1700000000000"].disposition == "discarded"


def test_a_letter_of_a_recreated_topic_with_a_reused_id_has_no_disposition_of_its_old_namesake(units: Any) -> None:
    discard_letter(units, letter_of(None, ident="0-0", timestamp_ms=1), actor="a")
    fresh = replay_letter(units, letter_of(None, ident="0-0", timestamp_ms=2), actor="b")
    assert (fresh.disposition, fresh.replays) == ("replayed", 1)
    assert {k: d.disposition for k, d in units.uow.dispositions.rows.items()} == {
        "0-0@1": "discarded",
        "0-0@2": "replayed",
    }


def test_a_message_id_on_several_letters_names_none_of_them(monkeypatch: pytest.MonkeyPatch) -> None:
    first = letter_of(None, ident="0-3")
    again = replace(first, id="0-9", timestamp_ms=first.timestamp_ms + 5)  # refused again after its replay
    other = letter_of(None, ident="1-4")
    monkeypatch.setattr(dead_letters, "read_dead_letters", lambda client, limit: [first, other, again])
    assert find_dead_letter({}, "0-9") == again
    assert find_dead_letter({}, str(other.message_id)) == other
    assert find_dead_letter({}, "nothing") is None
    with pytest.raises(AmbiguousLetter) as ambiguous:
        find_dead_letter({}, str(first.message_id))
    assert str(ambiguous.value) == (
        f"ambiguous: message id {first.message_id} is on 2 dead letters (0-3, 0-9); "
        "name the letter by its id (partition-offset)"
    )


@pytest.fixture
def api(units: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    known = {"0-1": letter_of(None, ident="0-1")}

    def find(client: Any, ident: str) -> DeadLetter | None:
        if ident == "twice-refused":
            raise AmbiguousLetter(ident, ["0-3", "0-9"])
        return known.get(ident)

    monkeypatch.setattr(dead_letter_views, "find_dead_letter", find)
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


def test_the_api_refuses_a_letter_of_a_saga_that_moved_on_unless_forced(
    api: Client, units: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    saga_id = started(units)
    units.uow.sagas.rows[saga_id].state = SagaState.COMPENSATED
    monkeypatch.setattr(letter_notes, "saga_of", lambda letter: saga_id)
    refused = api.post("/dead-letters/0-1/replay")
    assert (refused.status_code, refused.json()["detail"]) == (
        409,
        f"ident: dead letter 0-1 belongs to saga {saga_id}, which is COMPENSATED: replay it only deliberately "
        "(force=true)",
    )
    forced = api.post("/dead-letters/0-1/replay", params={"force": "true"})
    assert (forced.status_code, forced.json()["replays"]) == (200, 1)


def test_the_api_answers_a_message_id_on_several_letters_with_409_listing_them(api: Client) -> None:
    for action in ("replay", "discard"):
        response = api.post(f"/dead-letters/twice-refused/{action}")
        assert response.status_code == 409
        assert response.json()["detail"] == (
            "ident: ambiguous: message id twice-refused is on 2 dead letters (0-3, 0-9); "
            "name the letter by its id (partition-offset)"
        )
