"""``/dashboard/outbox`` rendered by the coordinator's templates, over stubbed parked-row functions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.di import Provide
from litestar.testing import TestClient

from coordinator.entrypoints import dashboard_outbox
from coordinator.entrypoints.dashboard import TEMPLATES
from coordinator.entrypoints.dashboard_outbox import OutboxDashboardController
from plumbing.errors import NotFound
from plumbing.parked import ParkedRow
from plumbing.unit_of_work import Transactions, UnitOfWork

HOSTILE = '<script>alert("x")</script>'
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ROW = ParkedRow(
    id=42,
    topic="catalog.commands",
    key="saga-1",
    message_type="ReserveStock",
    message_id="3f1c",
    size_bytes=1_000_001,
    error=f"MSG_SIZE_TOO_LARGE: {HOSTILE}",
    attempts=1,
    created_at=T0,
    parked_at=T0,
)


@pytest.fixture
def acted() -> list[tuple[str, int]]:
    return []


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, acted: list[tuple[str, int]]) -> Iterator[TestClient[Litestar]]:
    """The page alone, with the coordinator's template config; retry and discard know only row 42."""
    rows = [ROW]

    def act(name: str) -> Any:
        def do(transactions: object, row_id: int) -> None:
            if row_id != ROW.id:
                raise NotFound(f"no parked outbox row {row_id}")
            acted.append((name, row_id))

        return do

    monkeypatch.setattr(dashboard_outbox, "list_parked", lambda conn, limit: rows[:limit])
    monkeypatch.setattr(dashboard_outbox, "retry_parked", act("retry"))
    monkeypatch.setattr(dashboard_outbox, "discard_parked", act("discard"))
    engine = sa.create_engine("sqlite://")  # only connected to; the query is stubbed
    transactions = Transactions(engine, sa.Table("outbox", sa.MetaData()), UnitOfWork)  # never opened here
    app = Litestar(
        [OutboxDashboardController],
        dependencies={
            "engine": Provide(lambda: engine, sync_to_thread=False),
            "transactions": Provide(lambda: transactions, sync_to_thread=False),
        },
        template_config=TEMPLATES,
    )
    with TestClient(app) as test_client:
        yield test_client


def test_the_page_lists_each_parked_row_with_its_refusal_escaped_and_two_buttons(client: TestClient[Litestar]) -> None:
    response = client.get("/dashboard/outbox")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    page = response.text
    assert "<title>Parked outbox rows · RetroVault</title>" in page
    assert '<tr data-parked-id="42">' in page
    assert "1,000,001 bytes" in page
    assert HOSTILE not in page and "MSG_SIZE_TOO_LARGE: &lt;script&gt;" in page
    assert '<form method="post" action="/dashboard/outbox/42/retry"' in page
    assert 'aria-label="Discard row 42"' in page


def test_a_button_acts_then_sends_the_browser_back_to_the_page(
    client: TestClient[Litestar], acted: list[tuple[str, int]]
) -> None:
    retried = client.post("/dashboard/outbox/42/retry", follow_redirects=False)
    assert (retried.status_code, retried.headers["location"]) == (303, "/dashboard/outbox?retried=42")
    discarded = client.post("/dashboard/outbox/42/discard", follow_redirects=False)
    assert (discarded.status_code, discarded.headers["location"]) == (303, "/dashboard/outbox?discarded=42")
    gone = client.post("/dashboard/outbox/7/discard", follow_redirects=False)
    assert gone.headers["location"] == "/dashboard/outbox?gone=7"
    assert acted == [("retry", 42), ("discard", 42)]
    assert "Row 42 is back in the outbox" in client.get("/dashboard/outbox", params={"retried": "42"}).text
    assert "There is no parked row 7" in client.get("/dashboard/outbox", params={"gone": "7"}).text


def test_an_empty_page_says_nothing_is_parked(client: TestClient[Litestar], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard_outbox, "list_parked", lambda conn, limit: [])
    assert "Nothing is parked" in client.get("/dashboard/outbox").text
