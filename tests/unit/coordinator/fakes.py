"""The coordinator's ports in memory, and the messages its tests feed it."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.base import Message
from contracts.envelope import Envelope, wrap
from coordinator.engine.instance import HistoryEntry, SagaInstance
from coordinator.ports import ConcurrentUpdate, Disposition
from plumbing.unit_of_work import reply_id
from tests.unit.fakes import FakeMessages, FakeUnitsOfWork


class FakeSagas:
    """``coordinator.ports.Sagas`` in a dict; hands out copies and checks versions, as the database would.

    ``calls`` names every method called, in order (how many statements the real store would run).
    """

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, SagaInstance] = {}
        self.history: list[HistoryEntry] = []
        self.calls: list[str] = []
        self.locked: list[list[uuid.UUID]] = []

    def add_many(self, new: Iterable[tuple[SagaInstance, str | None]]) -> set[uuid.UUID]:
        self.calls.append("add_many")
        added: set[uuid.UUID] = set()
        for saga, _trace in new:
            taken = {(s.saga_type, s.order_id) for s in self.rows.values()}
            if saga.saga_id in self.rows or (saga.saga_type, saga.order_id) in taken:
                continue
            stored = copy.deepcopy(saga)
            stored.version = 1
            self.rows[saga.saga_id] = stored
            added.add(saga.saga_id)
        return added

    def get(self, saga_id: uuid.UUID) -> SagaInstance | None:
        self.calls.append("get")
        return copy.deepcopy(self.rows.get(saga_id))

    def lock(self, saga_id: uuid.UUID) -> SagaInstance | None:
        self.calls.append("lock")
        self.locked.append([saga_id])
        return copy.deepcopy(self.rows.get(saga_id))

    def lock_many(self, saga_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, SagaInstance]:
        self.calls.append("lock_many")
        wanted = sorted(set(saga_ids))
        self.locked.append(wanted)
        return {i: copy.deepcopy(self.rows[i]) for i in wanted if i in self.rows}

    def save(self, saga: SagaInstance) -> None:
        self.calls.append("save")
        self._check(saga.saga_id, saga.version)
        saga.version += 1
        self.rows[saga.saga_id] = copy.deepcopy(saga)

    def save_many(self, changed: Iterable[tuple[SagaInstance, int]]) -> None:
        self.calls.append("save_many")
        writes = list(changed)
        for saga, read_at in writes:
            self._check(saga.saga_id, read_at)
        for saga, _ in writes:
            self.rows[saga.saga_id] = copy.deepcopy(saga)

    def due(self, now: datetime, limit: int) -> list[SagaInstance]:
        self.calls.append("due")
        late = [s for s in self.rows.values() if s.deadline_at is not None and s.deadline_at <= now]
        return [copy.deepcopy(s) for s in sorted(late, key=lambda s: s.deadline_at or now)[:limit]]

    def record(self, entries: Iterable[HistoryEntry]) -> None:
        self.calls.append("record")
        self.history.extend(entries)

    def trace_context(self, saga_id: uuid.UUID) -> str | None:
        return None

    def _check(self, saga_id: uuid.UUID, version: int) -> None:
        stored = self.rows.get(saga_id)
        if stored is None or stored.version != version:
            raise ConcurrentUpdate(f"saga {saga_id} changed since version {version}")

    def kinds(self, saga_id: uuid.UUID) -> list[str]:
        """The kinds of the saga's timeline entries, in order."""
        return [entry.kind for entry in self.history if entry.saga_id == saga_id]

    def overdue(self, saga_id: uuid.UUID) -> None:
        """Move the saga's deadline into the past."""
        self.rows[saga_id].deadline_at = datetime.now(UTC) - timedelta(seconds=1)

    def waited(self, saga_id: uuid.UUID, seconds: float) -> None:
        """Pretend the saga's current step was first sent ``seconds`` ago, and its deadline has passed."""
        row = self.rows[saga_id]
        row.step_started_at = datetime.now(UTC) - timedelta(seconds=seconds)
        self.overdue(saga_id)


class FakeDispositions:
    """``coordinator.ports.Dispositions`` in a dict; ``locked`` names each letter locked, in order."""

    def __init__(self) -> None:
        self.rows: dict[str, Disposition] = {}
        self.locked: list[str] = []

    def lock(self, letter_id: str) -> Disposition | None:
        self.locked.append(letter_id)
        return self.rows.get(letter_id)

    def put(self, disposition: Disposition) -> Disposition:
        self.rows[disposition.letter_id] = replace(disposition, at=datetime.now(UTC))
        return self.rows[disposition.letter_id]

    def of(self, letter_ids: Iterable[str]) -> dict[str, Disposition]:
        return {i: self.rows[i] for i in letter_ids if i in self.rows}


class FakeCoordinatorUnitOfWork(FakeMessages):
    """``coordinator.ports.CoordinatorUnitOfWork`` in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.sagas = FakeSagas()
        self.dispositions = FakeDispositions()
        self.republished: list[dict[str, Any]] = []

    def republish(self, *, topic: str, key: str | None, value: bytes, headers: dict[str, str]) -> None:
        self.republished.append({"topic": topic, "key": key, "value": value, "headers": headers})

    def commands(self) -> list[Envelope[Any]]:
        """Every command sent so far, in order."""
        return [s.envelope for s in self.sent]


def coordinator() -> FakeUnitsOfWork[FakeCoordinatorUnitOfWork]:
    """Units of work over a coordinator with no sagas yet."""
    return FakeUnitsOfWork(FakeCoordinatorUnitOfWork())


def reply_to(
    saga: SagaInstance, payload: Message, *, command: uuid.UUID | None = None, message_id: uuid.UUID | None = None
) -> Envelope[Any]:
    """A participant's reply to ``command`` (by default, the one the saga awaits), with that command's reply
    id unless ``message_id`` is given."""
    command = command or saga.awaiting_message_id
    assert command is not None
    return wrap(
        payload,
        correlation_id=saga.order_id,
        saga_id=saga.saga_id,
        causation_id=command,
        message_id=message_id or reply_id(command),
    )
