"""The dashboard's pages rendered by Litestar's Jinja2 engine, over stubbed queries: no database, no browser."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.di import Provide
from litestar.testing import TestClient

from coordinator.adapters import saga_queries
from coordinator.adapters.saga_queries import Durations, HistoryView, SagaPage, SagaView, Summary
from coordinator.entrypoints.dashboard import TEMPLATES, DashboardController
from coordinator.entrypoints.dashboard_format import waiting
from coordinator.entrypoints.dashboard_templates import HTMX_JS

HOSTILE = '<script>alert("x")</script>'
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def entry(ms: int, kind: str, action: str | None = None, message_type: str | None = None) -> HistoryView:
    return HistoryView(T0 + timedelta(milliseconds=ms), kind, action, message_type, uuid.uuid4(), 1, None)


def saga(state: str, *, order_id: str = "order-1", stuck: bool = False, history: Any = ()) -> SagaView:
    return SagaView(
        saga_id=uuid.uuid4(),
        saga_type="create_order",
        order_id=order_id,
        state=state,
        current_step="charge_payment" if state == "RUNNING" else None,
        attempts=2,
        deadline_at=None,
        failure_reason=HOSTILE if state == "FAILED" else None,
        stuck=stuck,
        stuck_since=T0 if stuck else None,
        stuck_reason="no reply to charge_payment yet (attempt 2)" if stuck else None,
        version=3,
        created_at=T0,
        updated_at=T0,
        finished_at=None if state == "RUNNING" else T0 + timedelta(seconds=1),
        data={"note": HOSTILE},
        history=list(history),
    )


STEPS = [
    ("reserve_stock", "ReserveStock", "StockReserved"),
    ("charge_payment", "ChargePayment", "PaymentSucceeded"),
    ("approve_order", "ApproveOrder", "OrderApproved"),
]
COMPLETED = saga(
    "COMPLETED",
    history=[
        entry(0, "state_changed"),
        *(entry(10 * i + 1, "command_sent", action, sent) for i, (action, sent, _) in enumerate(STEPS)),
        *(entry(10 * i + 5, "reply_received", action, done) for i, (action, _, done) in enumerate(STEPS)),
    ],
)
STUCK = saga("RUNNING", stuck=True, history=[entry(0, "command_sent", "charge_payment", "ChargePayment")])
FAILED = saga("FAILED", order_id=HOSTILE)
WAITING = msgspec.structs.replace(
    saga("RUNNING", history=[entry(0, "command_sent", "charge_payment", "ChargePayment")]),
    attempts=15,
    waiting=True,
    waiting_on="payment",
    waiting_since=T0,
    resends=14,
    gives_up_at=T0 + timedelta(minutes=30),
)
SUMMARY = Summary(
    by_state={"RUNNING": 1, "COMPLETED": 1, "FAILED": 1},
    by_step={"charge_payment": 1},
    stuck=1,
    durations=Durations(window_minutes=15, completed=1, p50_ms=640.0, p95_ms=1250.0, p99_ms=None),
    waiting=2,
)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient[Litestar]]:
    """The dashboard alone, with the coordinator's template config and the read queries stubbed."""
    sagas = {s.saga_id: s for s in (COMPLETED, STUCK, FAILED, WAITING)}

    def find_sagas(conn: object, where: saga_queries.SagaFilter, *, limit: int, cursor: str | None = None) -> SagaPage:
        if cursor == "bogus":
            raise ValueError(cursor)
        items = [s for s in sagas.values() if where.state in (None, s.state)]
        return SagaPage(items=items[:limit], next_cursor="next+1" if len(items) > limit else None)

    monkeypatch.setattr(saga_queries, "summary", lambda conn, window_minutes: SUMMARY)
    monkeypatch.setattr(saga_queries, "find_sagas", find_sagas)
    monkeypatch.setattr(saga_queries, "saga", lambda conn, key: sagas.get(key))
    engine = sa.create_engine("sqlite://")  # only connected to; every query is stubbed
    app = Litestar(
        [DashboardController],
        dependencies={"engine": Provide(lambda: engine, sync_to_thread=False)},
        template_config=TEMPLATES,
    )
    with TestClient(app) as test_client:
        yield test_client


def test_the_overview_has_the_summary_the_form_and_the_table(client: TestClient[Litestar]) -> None:
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert "<title>Sagas · RetroVault</title>" in page
    assert '<section id="summary" data-live hx-get="/dashboard"' in page
    assert '<a class="card RUNNING" href="/dashboard?state=RUNNING" data-card="Running">' in page
    assert '<div class="value">3</div>' in page  # all sagas
    assert '<a class="chip" href="/dashboard?step=charge_payment" data-step="charge_payment">' in page
    assert "1 completed in the last 15 min" in page
    assert '<label class="check"><input type="checkbox" name="stuck" value="1">Stuck only</label>' in page
    assert f'<tr class="stuck" data-saga-id="{STUCK.saga_id}"' in page
    assert f'<a class="mono" href="/dashboard/sagas/{COMPLETED.saga_id}"' in page
    assert '<span class="badge STUCK" data-stuck="true"' in page
    assert f'<script src="/dashboard/static/{HTMX_JS.name}"></script>' in page


def test_values_are_escaped(client: TestClient[Litestar]) -> None:
    overview = client.get("/dashboard", params={"order_id": HOSTILE}).text
    saga_page = client.get(f"/dashboard/sagas/{FAILED.saga_id}").text
    for page in (overview, saga_page):
        assert HOSTILE not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert 'value="&lt;script&gt;' in overview  # the form keeps what was typed, escaped
    assert 'data-order-id="&lt;script&gt;' in overview
    assert "?order_id=%3Cscript%3E" in overview  # the link to the order's sagas
    missing = client.get("/dashboard/sagas/<b>x")
    assert missing.status_code == 404 and "<b>x" not in missing.text and "&lt;b&gt;x" in missing.text


def test_filters_paging_and_errors(client: TestClient[Litestar]) -> None:
    page = client.get("/dashboard", params={"state": "COMPLETED", "limit": "1"}).text
    assert '<option value="COMPLETED" selected>COMPLETED</option>' in page
    assert '<input type="hidden" name="limit" value="1">' in page
    assert f'data-saga-id="{COMPLETED.saga_id}"' in page and f'data-saga-id="{STUCK.saga_id}"' not in page
    paged = client.get("/dashboard", params={"limit": "1", "cursor": "x"}).text
    assert '<a href="/dashboard?limit=1" data-page="first">« First page</a>' in paged
    assert '<a href="/dashboard?limit=1&amp;cursor=next%2B1" data-page="next">Next page »</a>' in paged
    unknown = client.get("/dashboard", params={"state": "NOPE"})
    assert unknown.status_code == 400 and '<div class="notice">unknown state &#39;NOPE&#39;' in unknown.text
    bogus = client.get("/dashboard", params={"cursor": "bogus"})
    assert bogus.status_code == 400 and "that cursor is not one this dashboard gave out" in bogus.text
    assert "No saga matches." in bogus.text


def test_a_saga_page_shows_progress_and_timeline(client: TestClient[Litestar]) -> None:
    page = client.get(f"/dashboard/sagas/{COMPLETED.saga_id}").text
    assert f"<title>Saga {str(COMPLETED.saga_id)[:8]} · RetroVault</title>" in page
    assert f'<section id="saga" data-live hx-get="/dashboard/sagas/{COMPLETED.saga_id}"' in page
    for action in ("reserve_stock", "charge_payment", "approve_order"):
        assert f'<li data-action="{action}" data-status="done">' in page
    assert '<p class="muted" data-compensation="none">' in page
    assert page.count('<tr class="" data-kind="command_sent"') == 3
    assert '<span data-field="failure">—</span>' in page  # None shows as an em dash
    assert '<div data-field="stuck">no</div>' in page
    stuck = client.get(f"/dashboard/sagas/{STUCK.saga_id}").text
    assert '<li data-action="charge_payment" data-status="waiting">' in stuck
    assert "no reply to charge_payment yet (attempt 2)</div></div>" in stuck


def test_an_unknown_saga_is_a_404_page(client: TestClient[Litestar]) -> None:
    for saga_id in (str(uuid.UUID(int=0)), "not-a-saga"):
        response = client.get(f"/dashboard/sagas/{saga_id}")
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
        assert "<h2>Saga not found</h2>" in response.text and saga_id in response.text
        assert "hx-get" not in response.text and "<script" not in response.text  # not a live page


def test_htmx_polls_get_their_fragment_alone(client: TestClient[Litestar]) -> None:
    def poll(url: str, target: str) -> Any:
        return client.get(url, headers={"HX-Request": "true", "HX-Target": target})

    summary = poll("/dashboard?state=RUNNING", "summary")
    assert summary.status_code == 200 and summary.text.startswith('<section id="summary"')
    assert summary.text.rstrip().endswith("</section>") and "<html" not in summary.text
    table = poll("/dashboard?state=RUNNING", "table")
    assert table.text.startswith('<section id="table" data-live hx-get="/dashboard?state=RUNNING"')
    assert 'id="summary"' not in table.text and f'data-saga-id="{STUCK.saga_id}"' in table.text
    assert poll("/dashboard?state=NOPE", "table").status_code == 400  # htmx keeps what is shown
    saga_part = poll(f"/dashboard/sagas/{STUCK.saga_id}", "saga")
    assert saga_part.text.startswith('<section id="saga"') and "<title>" not in saga_part.text


def test_the_dashboard_serves_htmx_itself(client: TestClient[Litestar]) -> None:
    response = client.get(f"/dashboard/static/{HTMX_JS.name}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
    assert response.content == HTMX_JS.read_bytes() and b"htmx" in response.content


def test_a_waiting_saga_says_on_whom_since_when_and_how_often_it_was_re_sent(client: TestClient[Litestar]) -> None:
    line = "waiting on payment since 2026-05-01 12:00:00, 14 re-sends"
    overview = client.get("/dashboard").text
    assert '<a class="card WAITING" href="/dashboard?waiting=1" data-card="Waiting">' in overview
    assert '<label class="check"><input type="checkbox" name="waiting" value="1">Waiting only</label>' in overview
    assert f'<tr class="waiting" data-saga-id="{WAITING.saga_id}"' in overview
    assert f'<span class="small" data-waiting="payment">{line}</span>' in overview
    page = client.get(f"/dashboard/sagas/{WAITING.saga_id}").text
    assert f'<div data-field="waiting">{line}<div class="small muted">rolls back at 2026-05-01 12:30:00' in page
    assert '<div data-field="stuck">no</div>' in page  # waiting within its budget is not stuck
    assert '<div data-field="waiting">no</div>' in client.get(f"/dashboard/sagas/{COMPLETED.saga_id}").text
    checked = client.get("/dashboard", params={"waiting": "1"}).text
    assert 'name="waiting" value="1" checked>Waiting only' in checked


def test_the_waiting_line_shows_the_time_alone_for_today() -> None:
    today = datetime.now(UTC).replace(hour=12, minute=1, second=7, microsecond=0)
    one = msgspec.structs.replace(WAITING, waiting_since=today, resends=1)
    assert waiting(one) == "waiting on payment since 12:01:07, 1 re-send"
    assert waiting(COMPLETED) is None


def test_the_timeline_names_the_coordinator_and_participant_instance_of_each_step(
    client: TestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = msgspec.structs.replace(entry(0, "command_sent", "reserve_stock", "ReserveStock"), instance="c-1")
    done = entry(5, "reply_received", "reserve_stock", "StockReserved")
    done = msgspec.structs.replace(done, instance="c-2", participant_instance="catalog-2")
    named = saga("RUNNING", history=[sent, done, entry(9, "timed_out", "charge_payment")])
    monkeypatch.setattr(saga_queries, "saga", lambda conn, key: named)
    page = client.get(f"/dashboard/sagas/{named.saga_id}").text
    assert '<th title="the coordinator instance that applied it">Coordinator</th>' in page
    cells = [
        ('<td class="mono" data-instance="c-1">c-1</td>', '<td class="mono" data-participant-instance=""></td>'),
        ('<td class="mono" data-instance="c-2">c-2</td>', '<td class="mono" data-participant-instance="catalog-2">'),
        ('<td class="mono" data-instance="">—</td>', '<td class="mono" data-participant-instance=""></td>'),
    ]
    rows = page.split('<tr class="" data-kind=')[1:]
    assert len(rows) == 3
    for row, (coordinator, participant) in zip(rows, cells, strict=True):
        assert coordinator in row and participant in row
