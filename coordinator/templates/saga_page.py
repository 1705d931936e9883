"""``/dashboard/sagas/{saga_id}``: one saga's standing, progress, data and full timeline."""

from __future__ import annotations

import json

from coordinator.adapters.saga_queries import HistoryView, SagaView
from coordinator.templates.base import clock, esc, link, millis, page, since, state_badge, stuck_badge, when
from coordinator.templates.overview import PATH
from coordinator.templates.progress import ActionProgress, Progress

_KINDS = {
    "state_changed": "● state changed",
    "command_sent": "→ command sent",
    "reply_received": "← reply received",
    "reply_ignored": "↩ reply ignored",
    "timed_out": "◷ timed out",
}


def _facts(view: SagaView) -> str:
    stuck = (
        f"{stuck_badge(view.stuck_since, view.stuck_reason)} since {when(view.stuck_since)}"
        f"<div>{esc(view.stuck_reason)}</div>"
        if view.stuck
        else "no"
    )
    finished = (
        f"{when(view.finished_at)} (took {since(view.created_at, view.finished_at)})" if view.finished_at else "—"
    )
    rows = [
        ("Type", esc(view.saga_type)),
        ("Order", f'<a class="mono" href="{link(PATH, {"order_id": view.order_id})}">{esc(view.order_id)}</a>'),
        ("State", state_badge(view.state)),
        ("Current step", f'<span class="mono">{esc(view.current_step)}</span>'),
        ("Attempts", esc(view.attempts)),
        ("Reply deadline", when(view.deadline_at)),
        ("Stuck", f'<div data-field="stuck">{stuck}</div>'),
        ("Failure reason", f'<span data-field="failure">{esc(view.failure_reason)}</span>'),
        ("Created", when(view.created_at)),
        ("Updated", when(view.updated_at)),
        ("Finished", finished),
        ("Version", esc(view.version)),
    ]
    return '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _item(p: ActionProgress) -> str:
    tries = f" · {p.attempts} attempts" if p.attempts > 1 else ""
    at = f'<span class="when">{clock(p.at)}{tries}</span>' if p.at else ""
    detail = f'<div class="small muted">{esc(p.detail)}</div>' if p.detail else ""
    return (
        f'<li data-action="{esc(p.action)}" data-status="{esc(p.status)}"><span class="mono">{esc(p.action)}</span> '
        f'<span class="badge {esc(p.status)}">{esc(p.status)}</span>{at}{detail}</li>'
    )


def _progress(progress: Progress) -> str:
    steps = "".join(_item(p) for p in progress.steps)
    if progress.rolled_back:
        total, done = len(progress.compensations), progress.compensations_done
        head = f'<div class="small muted" data-compensation="{done}/{total}">{done} of {total} confirmed</div>'
        body = f'<ol class="plan">{"".join(_item(p) for p in progress.compensations)}</ol>'
        compensation = head + body
    else:
        compensation = '<p class="muted" data-compensation="none">None: the saga has not rolled back.</p>'
    return (
        f'<div class="grid2"><div class="panel" id="steps"><h3>Steps</h3><ol class="plan">{steps}'
        f'</ol></div><div class="panel" id="compensation"><h3>Compensation</h3>{compensation}'
        "</div></div>"
    )


def _entry(entry: HistoryView, start: HistoryView, compensating: bool) -> str:
    elapsed = millis((entry.at - start.at).total_seconds() * 1000)
    message_id = str(entry.message_id) if entry.message_id else None
    short = f'<span class="mono" title="{esc(message_id)}">{esc(message_id[:8])}</span>' if message_id else "—"
    return (
        f'<tr class="{"compensation" if compensating else ""}" data-kind="{esc(entry.kind)}" '
        f'data-action="{esc(entry.action or "")}"><td class="num mono">{clock(entry.at)}</td>'
        f'<td class="num muted">+{esc(elapsed)}</td>'
        f'<td class="kind k-{esc(entry.kind)}">{esc(_KINDS.get(entry.kind, entry.kind))}</td>'
        f'<td class="mono">{esc(entry.action)}</td><td class="mono">{esc(entry.message_type)}</td>'
        f'<td class="num">{esc(entry.attempt)}</td><td>{short}</td><td>{esc(entry.detail)}</td></tr>'
    )


def _timeline(history: list[HistoryView]) -> str:
    if not history:
        return '<p class="muted">No history.</p>'
    head = "".join(
        f"<th>{h}</th>" for h in ("Time (UTC)", "Elapsed", "Event", "Action", "Message", "Try", "Id", "Detail")
    )
    rows, compensating = [], False
    for entry in history:
        if entry.kind == "state_changed" and (entry.detail or "").startswith("compensating:"):
            compensating = True
        rows.append(_entry(entry, history[0], compensating))
    return f'<table id="timeline"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def render_saga(view: SagaView, progress: Progress) -> str:
    """The saga page (refreshes itself)."""
    data = json.dumps(view.data, indent=2, sort_keys=True, default=str)
    body = (
        f'<p><a href="{PATH}">← All sagas</a></p><section id="saga" data-live>'
        f'<h2 class="title">Saga <span class="mono">{esc(view.saga_id)}</span> {state_badge(view.state)} '
        f"{stuck_badge(view.stuck_since, view.stuck_reason) if view.stuck else ''}</h2>"
        f'<div class="grid2"><div class="panel">{_facts(view)}</div>'
        f'<div class="panel"><pre>{esc(data)}</pre></div></div>'
        f"<h2>Progress</h2>{_progress(progress)}<h2>Timeline</h2>{_timeline(view.history)}</section>"
    )
    return page(f"Saga {str(view.saga_id)[:8]}", body)


def render_not_found(saga_id: str) -> str:
    """The page for a saga id that names no saga."""
    body = (
        f'<h2>Saga not found</h2><div class="panel"><p>There is no saga <span class="mono">{esc(saga_id)}</span>.</p>'
        f'<p><a href="{PATH}">← All sagas</a></p></div>'
    )
    return page("Saga not found", body, live=False)
