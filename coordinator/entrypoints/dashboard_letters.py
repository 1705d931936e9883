"""``/dashboard/dead-letters``: the dead letters with what was done with each, and a replay or discard of one,
confirmed first (``dashboard_pages`` says how). A replay refused because the letter's saga is no longer RUNNING
offers a second, explicit confirmation ("Replay anyway") that forces it."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from coordinator.entrypoints.dashboard_format import PATH
from coordinator.entrypoints.dashboard_pages import Done, page
from coordinator.entrypoints.dead_letter_views import with_dispositions
from coordinator.letter_refusals import AlreadyDisposed, SagaMovedOn
from coordinator.letters import discard_letter, replay_letter
from coordinator.settings import CoordinatorSettings
from plumbing.actors import Operator, Subject, actor
from plumbing.dead_letters import AmbiguousLetter, DeadLetter, find_dead_letter, read_dead_letters
from plumbing.http import Identifier
from plumbing.wiring import TransactionsDependency

LETTERS = f"{PATH}/dead-letters"
SHOWN = 200
"""The newest dead letters the page lists."""
Flag = Annotated[str | None, QueryParameter(max_length=8)]
"""A query parameter that is on when it is ``1``."""


class DeadLettersDashboardController(Controller):
    """``/dashboard/dead-letters``: the letters with their disposition; replay or discard one, once confirmed."""

    path = LETTERS
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def letters_page(
        self,
        transactions: TransactionsDependency,
        settings: NamedDependency[CoordinatorSettings],
        replayed: Done = None,
        discarded: Done = None,
    ) -> Template:
        """The newest dead letters, newest first, each with what was done with it and its buttons;
        ``replayed`` or ``discarded`` name the letter the last action was done to."""
        letters = with_dispositions(transactions, read_dead_letters(settings.kafka_client(), limit=SHOWN))
        context = {"letters": letters[::-1], "shown": SHOWN, "replayed": replayed, "discarded": discarded}
        return page("dead_letters.html.j2", context)

    @get("/{ident:str}/{action:str}", sync_to_thread=True)
    def confirm(
        self,
        transactions: TransactionsDependency,
        settings: NamedDependency[CoordinatorSettings],
        ident: Identifier,
        action: str,
    ) -> Template:
        """The letter and what ``action`` (``replay`` or ``discard``) would do to it, with the button that does it."""
        letter = _letter(settings, ident, action)
        if not isinstance(letter, DeadLetter):
            return letter
        return _confirmation(transactions, letter, action, refused=None)

    @post("/{ident:str}/{action:str}", sync_to_thread=True)
    def act(
        self,
        transactions: TransactionsDependency,
        settings: NamedDependency[CoordinatorSettings],
        ident: Identifier,
        action: str,
        again: Flag = None,
        force: Flag = None,
        subject: Subject = None,
        operator: Operator = None,
    ) -> Template | Redirect:
        """Replay (``again``: also a letter replayed before; ``force``: also one of a saga no longer RUNNING) or
        discard the letter, then list the letters again; refused (409), the confirmation page says why."""
        letter = _letter(settings, ident, action)
        if not isinstance(letter, DeadLetter):
            return letter
        who = actor(subject, operator)
        try:
            if action == "replay":
                replay_letter(transactions, letter, actor=who, again=again == "1", force=force == "1")
            else:
                discard_letter(transactions, letter, actor=who)
        except AlreadyDisposed as refused:
            return _confirmation(transactions, letter, action, refused=str(refused))
        except SagaMovedOn as refused:
            return _confirmation(transactions, letter, action, refused=str(refused), forcible=True)
        return Redirect(LETTERS, query_params={f"{action}ed": letter.id}, status_code=303)


def _letter(settings: CoordinatorSettings, ident: str, action: str) -> DeadLetter | Template:
    """The letter ``ident`` names for ``action``, else the page saying why there is none (404, or 409 for a
    message id several letters hold)."""
    try:
        letter = find_dead_letter(settings.kafka_client(), ident) if action in ("replay", "discard") else None
    except AmbiguousLetter as ambiguous:
        return page("letter_gone.html.j2", {"ident": ident, "ambiguous": str(ambiguous)}, 409)
    return letter or page("letter_gone.html.j2", {"ident": ident, "ambiguous": None}, 404)


def _confirmation(
    transactions: TransactionsDependency,
    letter: DeadLetter,
    action: str,
    *,
    refused: str | None,
    forcible: bool = False,
) -> Template:
    """The confirmation page of ``action`` on the letter; refused: why, answered 409 (``forcible``: with the
    button that forces a replay)."""
    (view,) = with_dispositions(transactions, [letter])
    context = {"letter": view, "action": action, "refused": refused, "forcible": forcible}
    return page("confirm_letter.html.j2", context, 409 if refused else 200)
