"""What the dashboard's templates show, as plain values: the filters, the headline cards, one page of sagas,
one saga with its progress and timeline. The templates do the markup (Jinja2 escapes every value).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from coordinator.adapters.saga_queries import HistoryView, SagaPage, SagaView, Summary
from coordinator.engine.instance import SagaState
from coordinator.entrypoints.dashboard_format import PATH, link, millis, now, when
from coordinator.entrypoints.dashboard_progress import Progress

PAGE_SIZE = 25

_KINDS = {
    "state_changed": "● state changed",
    "command_sent": "→ command sent",
    "reply_received": "← reply received",
    "reply_ignored": "↩ reply ignored",
    "timed_out": "◷ timed out",
    "dead_letter_replayed": "⟲ dead letter replayed",
    "dead_letter_discarded": "✕ dead letter discarded",
}


@dataclass(frozen=True)
class Filters:
    """The table's filters as the form sends them (None or False: any)."""

    state: str | None = None
    step: str | None = None
    stuck: bool = False
    waiting: bool = False
    order_id: str | None = None
    limit: int = PAGE_SIZE

    def params(self) -> dict[str, str | None]:
        """The filters (and a page size other than the default) as query parameters."""
        return {
            "state": self.state,
            "step": self.step,
            "stuck": "1" if self.stuck else None,
            "waiting": "1" if self.waiting else None,
            "order_id": self.order_id,
            "limit": str(self.limit) if self.limit != PAGE_SIZE else None,
        }


@dataclass(frozen=True)
class Card:
    """One headline number, a link to the sagas it counts."""

    label: str
    value: int
    href: str
    css: str = ""
    sub: str = ""


@dataclass(frozen=True)
class Entry:
    """One timeline row: the entry, how long after the first one, and whether it belongs to the rollback."""

    entry: HistoryView
    elapsed: str
    kind: str
    compensating: bool


def _cards(summary: Summary) -> list[Card]:
    cards = [Card("All sagas", sum(summary.by_state.values()), PATH)]
    for state in SagaState:
        count = summary.by_state.get(state.value, 0)
        cards.append(Card(state.value.title(), count, link(PATH, {"state": state.value}), state.value))
    cards.append(Card("Waiting", summary.waiting, link(PATH, {"waiting": "1"}), "WAITING", "re-sent, no reply yet"))
    css = "STUCK alert" if summary.stuck else "STUCK"
    cards.append(Card("Stuck", summary.stuck, link(PATH, {"stuck": "1"}), css, "waiting, with no time limit"))
    return cards


def summary_context(summary: Summary) -> dict[str, Any]:
    """The headline cards, completion percentiles and in-flight steps (``_summary.html.j2``)."""
    d = summary.durations
    return {
        "as_of": when(now()),
        "cards": _cards(summary),
        "percentiles": [("p50", millis(d.p50_ms)), ("p95", millis(d.p95_ms)), ("p99", millis(d.p99_ms))],
        "durations": d,
        "chips": [(step, count, link(PATH, {"step": step})) for step, count in sorted(summary.by_step.items())],
    }


def table_context(result: SagaPage, filters: Filters, cursor: str | None, error: str | None) -> dict[str, Any]:
    """One page of sagas, its paging links and what went wrong, if anything (``_table.html.j2``)."""
    following = result.next_cursor
    return {
        "error": error,
        "sagas": result.items,
        "first_page": link(PATH, filters.params()) if cursor else None,
        "next_page": link(PATH, {**filters.params(), "cursor": following}) if following else None,
    }


def form_context(filters: Filters, steps: list[str]) -> dict[str, Any]:
    """The filter form as typed (``overview.html.j2``)."""
    return {
        "filters": filters,
        "states": [s.value for s in SagaState],
        "steps": steps,
        "limit": filters.limit if filters.limit != PAGE_SIZE else None,
    }


def _timeline(history: list[HistoryView]) -> list[Entry]:
    entries, compensating = [], False
    for entry in history:
        if entry.kind == "state_changed" and (entry.detail or "").startswith("compensating:"):
            compensating = True
        elapsed = millis((entry.at - history[0].at).total_seconds() * 1000)
        entries.append(Entry(entry, elapsed, _KINDS.get(entry.kind, entry.kind), compensating))
    return entries


def saga_context(view: SagaView, progress: Progress) -> dict[str, Any]:
    """One saga: its facts, data, progress and timeline (``_saga.html.j2``)."""
    return {
        "saga": view,
        "data": json.dumps(view.data, indent=2, sort_keys=True, default=str),
        "progress": progress,
        "timeline": _timeline(view.history),
    }
