"""``/dashboard/dead-letters``: the dead letters with what was done with each, and a replay or discard of one,
confirmed first (``dashboard_pages`` says how)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from coordinator.entrypoints.dashboard_format import PATH
from coordinator.entrypoints.dashboard_pages import Done, page
from coordinator.entrypoints.dead_letter_views import with_dispositions
from coordinator.letters import AlreadyDisposed, discard_letter, replay_letter
from coordinator.settings import CoordinatorSettings
from plumbing.actors import Operator, Subject, actor
from plumbing.dead_letters import find_dead_letter, read_dead_letters
from plumbing.http import Identifier
from plumbing.wiring import TransactionsDependency

LETTERS = f"{PATH}/dead-letters"
SHOWN = 200
"""The newest dead letters the page lists."""


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
        letter = find_dead_letter(settings.kafka_client(), ident) if action in ("replay", "discard") else None
        if letter is None:
            return page("letter_gone.html.j2", {"ident": ident}, 404)
        (view,) = with_dispositions(transactions, [letter])
        return page("confirm_letter.html.j2", {"letter": view, "action": action, "refused": None})

    @post("/{ident:str}/{action:str}", sync_to_thread=True)
    def act(
        self,
        transactions: TransactionsDependency,
        settings: NamedDependency[CoordinatorSettings],
        ident: Identifier,
        action: str,
        again: Annotated[str | None, QueryParameter(max_length=8)] = None,
        subject: Subject = None,
        operator: Operator = None,
    ) -> Template | Redirect:
        """Replay (``again``: also a letter replayed before) or discard the letter, then list the letters again;
        refused (409), the confirmation page says why."""
        letter = find_dead_letter(settings.kafka_client(), ident) if action in ("replay", "discard") else None
        if letter is None:
            return page("letter_gone.html.j2", {"ident": ident}, 404)
        who = actor(subject, operator)
        try:
            if action == "replay":
                replay_letter(transactions, letter, actor=who, again=again == "1")
            else:
                discard_letter(transactions, letter, actor=who)
        except AlreadyDisposed as refused:
            (view,) = with_dispositions(transactions, [letter])
            return page("confirm_letter.html.j2", {"letter": view, "action": action, "refused": str(refused)}, 409)
        return Redirect(LETTERS, query_params={f"{action}ed": letter.id}, status_code=303)
