"""Why an operator's action on a dead letter was refused (409): nothing was done (``coordinator.letters``)."""

from __future__ import annotations

from coordinator.engine.instance import SagaInstance, SagaState
from coordinator.ports import Disposition
from plumbing.dead_letters import DeadLetter


class AlreadyDisposed(Exception):
    """The letter was discarded, or replayed and ``again`` was not asked for."""

    def __init__(self, letter: DeadLetter, before: Disposition, wanted: str) -> None:
        said = f"dead letter {letter.id} was {before.disposition} by {before.actor}"
        if before.disposition == "replayed" and wanted == "replayed":
            super().__init__(f"{said}; replay it again only deliberately (again=true)")
        else:
            super().__init__(f"{said}: it cannot be {wanted}")
        self.disposition = before


class SagaMovedOn(Exception):
    """The letter's saga is no longer RUNNING (compensating, or ended) and ``force`` was not asked for."""

    def __init__(self, letter: DeadLetter, saga: SagaInstance) -> None:
        super().__init__(
            f"dead letter {letter.id} belongs to saga {saga.saga_id}, which is {saga.state}: "
            "replay it only deliberately (force=true)"
        )
        self.saga = saga


def refuse_replay(
    letter: DeadLetter, before: Disposition | None, saga: SagaInstance | None, *, again: bool, force: bool
) -> None:
    """Raise why the letter may not be replayed now (``before``: its disposition; ``saga``: its saga), if it
    may not: ``AlreadyDisposed`` if discarded, or replayed and not ``again``; ``SagaMovedOn`` if its saga is not
    RUNNING and not ``force``."""
    if before is not None and (before.disposition == "discarded" or not again):
        raise AlreadyDisposed(letter, before, "replayed")
    if saga is not None and saga.state is not SagaState.RUNNING and not force:
        raise SagaMovedOn(letter, saga)
