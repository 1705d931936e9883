"""``/dashboard``: headline numbers, the filter form and one page of sagas."""

from __future__ import annotations

from dataclasses import dataclass

from coordinator.adapters.saga_queries import SagaPage, SagaView, Summary
from coordinator.engine.instance import SagaState
from coordinator.templates.base import age, esc, link, millis, now, page, since, state_badge, stuck_badge, when

PATH = "/dashboard"
PAGE_SIZE = 25


@dataclass(frozen=True)
class Filters:
    """The table's filters as the form sends them (None or False: any)."""

    state: str | None = None
    step: str | None = None
    stuck: bool = False
    order_id: str | None = None
    limit: int = PAGE_SIZE

    def params(self) -> dict[str, str | None]:
        """The filters (and a page size other than the default) as query parameters."""
        return {
            "state": self.state,
            "step": self.step,
            "stuck": "1" if self.stuck else None,
            "order_id": self.order_id,
            "limit": str(self.limit) if self.limit != PAGE_SIZE else None,
        }


def _card(label: str, value: object, *, css: str = "", href: str | None = None, sub: str = "") -> str:
    tag, attr = ("a", f' href="{href}"') if href else ("div", "")
    sub_html = f'<div class="sub">{sub}</div>' if sub else ""
    return (
        f'<{tag} class="card {css}"{attr} data-card="{esc(label)}"><div class="label">{esc(label)}</div>'
        f'<div class="value">{esc(value)}</div>{sub_html}</{tag}>'
    )


def _summary(summary: Summary) -> str:
    total = sum(summary.by_state.values())
    cards = [_card("All sagas", total, href=PATH)]
    for state in SagaState:
        count = summary.by_state.get(state.value, 0)
        cards.append(_card(state.value.title(), count, css=state.value, href=link(PATH, {"state": state.value})))
    cards.append(
        _card(
            "Stuck",
            summary.stuck,
            css="STUCK alert" if summary.stuck else "STUCK",
            href=link(PATH, {"stuck": "1"}),
            sub="past a reply deadline",
        )
    )
    d = summary.durations
    pct = "".join(
        f"<div><span>{q}</span>{esc(millis(v))}</div>"
        for q, v in (("p50", d.p50_ms), ("p95", d.p95_ms), ("p99", d.p99_ms))
    )
    durations = (
        f'<div class="panel" data-card="Completion time"><h3>Completion time of recent sagas</h3>'
        f'<div class="pct">{pct}</div><div class="small muted">{d.completed} completed in the last '
        f"{d.window_minutes} min</div></div>"
    )
    chips = "".join(
        f'<a class="chip" href="{link(PATH, {"step": step})}" data-step="{esc(step)}">{esc(step)} <b>{count}</b></a>'
        for step, count in sorted(summary.by_step.items())
    )
    chips = chips or '<span class="muted">No saga is in flight.</span>'
    steps = f'<div class="panel"><h3>In flight, by current step</h3><div class="steps">{chips}</div></div>'
    return f'<div class="cards">{"".join(cards)}</div><div class="grid2 gap">{durations}{steps}</div>'


def _options(values: list[str], chosen: str | None) -> str:
    options = ['<option value="">any</option>']
    for value in values:
        selected = " selected" if value == chosen else ""
        options.append(f'<option value="{esc(value)}"{selected}>{esc(value)}</option>')
    return "".join(options)


def _form(filters: Filters, steps: list[str]) -> str:
    checked = " checked" if filters.stuck else ""
    limit = f'<input type="hidden" name="limit" value="{filters.limit}">' if filters.limit != PAGE_SIZE else ""
    return (
        f'<form class="filters panel" method="get" action="{PATH}">'
        f'<label>State<select name="state">{_options([s.value for s in SagaState], filters.state)}</select></label>'
        f'<label>Current step<select name="step">{_options(steps, filters.step)}</select></label>'
        f'<label>Order id<input type="text" name="order_id" value="{esc(filters.order_id or "")}" '
        'placeholder="exact order id" autocomplete="off"></label>'
        f'<label class="check"><input type="checkbox" name="stuck" value="1"{checked}>Stuck only</label>'
        f"{limit}"
        f'<button type="submit">Apply</button><a href="{PATH}">Reset</a></form>'
    )


def _row(saga: SagaView) -> str:
    sid = esc(saga.saga_id)
    stuck = stuck_badge(saga.stuck_since, saga.stuck_reason) if saga.stuck else ""
    reason = f'<div class="small muted">{esc(saga.stuck_reason)}</div>' if saga.stuck else ""
    finished = saga.finished_at
    duration = (
        since(saga.created_at, finished) if finished else f'<span class="muted">running</span> {age(saga.created_at)}'
    )
    order = link(PATH, {"order_id": saga.order_id})
    return (
        f'<tr class="{"stuck" if saga.stuck else ""}" data-saga-id="{sid}" data-order-id="{esc(saga.order_id)}">'
        f'<td><a class="mono" href="{PATH}/sagas/{sid}" title="{sid}">{esc(str(saga.saga_id)[:8])}</a></td>'
        f'<td><a class="mono" href="{order}" title="{esc(saga.order_id)}">{esc(saga.order_id[:8])}</a></td>'
        f"<td>{esc(saga.saga_type)}</td><td>{state_badge(saga.state)}</td>"
        f'<td class="mono">{esc(saga.current_step)}</td><td class="num">{saga.attempts}</td>'
        f"<td>{stuck}{reason}</td><td class=num>{when(saga.created_at)}</td><td class=num>{duration}</td></tr>"
    )


def _table(result: SagaPage, filters: Filters, cursor: str | None) -> str:
    head = "".join(
        f"<th>{h}</th>" for h in ("Saga", "Order", "Type", "State", "Step", "Tries", "Stuck", "Created (UTC)", "Took")
    )
    rows = "".join(_row(s) for s in result.items) or '<tr><td colspan="9" class="empty">No saga matches.</td></tr>'
    pager = []
    if cursor:
        pager.append(f'<a href="{link(PATH, filters.params())}" data-page="first">« First page</a>')
    if result.next_cursor:
        following = link(PATH, {**filters.params(), "cursor": result.next_cursor})
        pager.append(f'<a href="{following}" data-page="next">Next page »</a>')
    return (
        f'<table id="sagas"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
        f'<div class="pager">{"".join(pager)}</div>'
    )


def render_overview(
    summary: Summary, result: SagaPage, filters: Filters, *, cursor: str | None, steps: list[str], error: str | None
) -> str:
    """The dashboard page: the summary and the table refresh themselves, the filter form stays as typed."""
    notice = f'<div class="notice">{esc(error)}</div>' if error else ""
    body = (
        f'<section id="summary" data-live><h2>Summary <span class="muted small">as of {when(now())} UTC</span></h2>'
        f"{_summary(summary)}</section>"
        f"<h2>Sagas</h2>{_form(filters, steps)}"
        f'<section id="table" data-live>{notice}{_table(result, filters, cursor)}</section>'
    )
    return page("Sagas", body)
