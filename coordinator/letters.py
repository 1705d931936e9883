"""Operators' actions on dead letters: replay one (through the outbox) or discard it, recording who did it.

A letter is replayed or discarded, never both: a discarded letter cannot be replayed, a replayed one cannot
be discarded. Replaying a replayed letter again must be asked for (``again``): its consumer applies a message
at most once, but a letter refused again comes back as a new dead letter, and a second replay of the same one
is most likely a double click. A letter of a saga no longer RUNNING (compensating or ended) is replayed only
when forced (``force``): it would act for an order rolled back or settled, e.g. charge for a rejected order.
The saga a letter's message belongs to (its envelope names it) records the action and its actor. Dispositions
are kept by the letter's ``unique_id``: a re-created dead-letter topic's letters, ids from ``0-0``, have none.
"""

from __future__ import annotations

from coordinator.engine.instance import SagaState
from coordinator.letter_notes import note, saga_in
from coordinator.letter_refusals import AlreadyDisposed, refuse_replay
from coordinator.ports import CoordinatorUnitOfWork, Disposition
from plumbing.dead_letters import DeadLetter
from plumbing.unit_of_work import UnitsOfWork


def replay_letter(
    units: UnitsOfWork[CoordinatorUnitOfWork],
    letter: DeadLetter,
    *,
    actor: str,
    again: bool = False,
    force: bool = False,
) -> Disposition:
    """Put the letter's original bytes back on its original topic through the outbox, and record it.

    ``AlreadyDisposed`` for a discarded letter, or a replayed one unless ``again``; ``SagaMovedOn`` for a letter
    of a saga that is not RUNNING, unless ``force``.
    """
    with units.begin() as uow:
        before = uow.dispositions.lock(letter.unique_id)
        saga = saga_in(uow, letter)
        refuse_replay(letter, before, saga, again=again, force=force)
        replays = before.replays + 1 if before else 1
        done = uow.dispositions.put(Disposition(letter.unique_id, "replayed", actor, replays=replays))
        uow.republish(topic=letter.topic, key=letter.key, value=letter.value, headers=letter.original_headers)
        detail = f"dead letter {letter.id} re-submitted to {letter.topic}"
        forced = "" if saga is None or saga.state is SagaState.RUNNING else f" (forced: the saga was {saga.state})"
        note(uow, saga, letter, "dead_letter_replayed", actor, detail + forced)
    return done


def discard_letter(units: UnitsOfWork[CoordinatorUnitOfWork], letter: DeadLetter, *, actor: str) -> Disposition:
    """Mark the letter discarded (it stays on the topic, but cannot be replayed); ``AlreadyDisposed`` if it was
    replayed or discarded already."""
    with units.begin() as uow:
        before = uow.dispositions.lock(letter.unique_id)
        if before is not None:
            raise AlreadyDisposed(letter, before, "discarded")
        done = uow.dispositions.put(Disposition(letter.unique_id, "discarded", actor))
        detail = f"dead letter {letter.id} discarded: never re-sent"
        note(uow, saga_in(uow, letter), letter, "dead_letter_discarded", actor, detail)
    return done
