"""Operators' actions on dead letters: replay one (through the outbox) or discard it, recording who did it.

A letter is replayed or discarded, never both: a discarded letter cannot be replayed, a replayed one cannot
be discarded. Replaying a replayed letter again must be asked for (``again``): its consumer applies a message
at most once, but a letter refused again comes back as a new dead letter, and a second replay of the same one
is most likely a double click. When the letter's message belongs to a saga (its envelope names the saga), the
saga's timeline records the action and its actor.
"""

from __future__ import annotations

from coordinator.letter_notes import note
from coordinator.ports import CoordinatorUnitOfWork, Disposition
from plumbing.dead_letters import DeadLetter
from plumbing.unit_of_work import UnitsOfWork


class AlreadyDisposed(Exception):
    """The letter was discarded, or replayed and ``again`` was not asked for: nothing was done (409)."""

    def __init__(self, message: str, disposition: Disposition) -> None:
        super().__init__(message)
        self.disposition = disposition


def replay_letter(
    units: UnitsOfWork[CoordinatorUnitOfWork], letter: DeadLetter, *, actor: str, again: bool = False
) -> Disposition:
    """Put the letter's original bytes back on its original topic through the outbox, and record it.

    ``AlreadyDisposed`` for a discarded letter, or a replayed one unless ``again``.
    """
    with units.begin() as uow:
        before = uow.dispositions.lock(letter.id)
        if before is not None and (before.disposition == "discarded" or not again):
            raise AlreadyDisposed(_refusal(letter.id, before, "replayed"), before)
        replays = before.replays + 1 if before else 1
        done = uow.dispositions.put(Disposition(letter.id, "replayed", actor, replays=replays))
        uow.republish(topic=letter.topic, key=letter.key, value=letter.value, headers=letter.original_headers)
        note(uow, letter, "dead_letter_replayed", actor, f"dead letter {letter.id} re-submitted to {letter.topic}")
    return done


def discard_letter(units: UnitsOfWork[CoordinatorUnitOfWork], letter: DeadLetter, *, actor: str) -> Disposition:
    """Mark the letter discarded (it stays on the topic, but cannot be replayed); ``AlreadyDisposed`` if it was
    replayed or discarded already."""
    with units.begin() as uow:
        before = uow.dispositions.lock(letter.id)
        if before is not None:
            raise AlreadyDisposed(_refusal(letter.id, before, "discarded"), before)
        done = uow.dispositions.put(Disposition(letter.id, "discarded", actor))
        note(uow, letter, "dead_letter_discarded", actor, f"dead letter {letter.id} discarded: never re-sent")
    return done


def _refusal(letter_id: str, before: Disposition, wanted: str) -> str:
    said = f"dead letter {letter_id} was {before.disposition} by {before.actor}"
    if before.disposition == "replayed" and wanted == "replayed":
        return f"{said}; replay it again only deliberately (again=true)"
    return f"{said}: it cannot be {wanted}"
