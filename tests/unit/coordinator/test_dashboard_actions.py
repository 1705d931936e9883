"""The dashboard's operator actions over fakes: each asks for a confirmation (a page of its own, no script),
then acts for the operator the gateway names and says what happened; no database, no catalog, no browser."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.di import Provide
from litestar.testing import TestClient

from coordinator import services
from coordinator.engine.instance import SagaState
from coordinator.entrypoints import dashboard_stock
from coordinator.entrypoints.dashboard_replay import SagaReplayController
from coordinator.entrypoints.dashboard_stock import StockDashboardController
from coordinator.entrypoints.dashboard_templates import TEMPLATES
from coordinator.ports import StockRefused
from coordinator.settings import CoordinatorSettings
from tests.samples import placed
from tests.unit.coordinator.fakes import FakeCoordinatorUnitOfWork, coordinator
from tests.unit.fakes import FakeUnitsOfWork
from tests.unit.http import ThroughFakes

OPERATOR = {"X-Authenticated-Subject": "demo-operator"}


class FakeCatalog:
    """``coordinator.ports.CatalogStock`` over one product; ``changes`` lists each change with its actor."""

    def __init__(self) -> None:
        self.product: dict[str, Any] = {
            "sku": "SNES-CHRONO",
            "title": "Chrono <b>Trigger</b>",
            "platform": "SNES",
            "revision": 4,
        }
        self.product |= {"on_hand": 7, "reserved": 2, "available": 5}
        self.changes: list[tuple[Any, ...]] = []

    def products(self) -> list[dict[str, Any]]:
        return [self.product]

    def adjustments(self) -> list[dict[str, Any]]:
        return [{"sku": "SNES-CHRONO", "delta": 3, "reason": "delivery", "on_hand_after": 7, "at": "2026-12-03"}
                | {"adjusted_by": "cli:ops"}]  # fmt: skip

    def adjust(self, sku: str, delta: int, reason: str, actor: str) -> dict[str, Any]:
        if delta < -self.product["available"]:
            raise StockRefused(409, "delta: a restock cannot take reserved units")
        self.changes.append(("adjust", sku, delta, reason, actor))
        return self.product

    def set_available(self, sku: str, available: int, revision: int, actor: str) -> dict[str, Any]:
        self.changes.append(("set", sku, available, revision, actor))
        return self.product


@pytest.fixture
def units() -> FakeUnitsOfWork[FakeCoordinatorUnitOfWork]:
    return coordinator()


@pytest.fixture
def catalog(monkeypatch: pytest.MonkeyPatch) -> FakeCatalog:
    fake = FakeCatalog()
    monkeypatch.setattr(dashboard_stock, "CatalogClient", lambda url: fake)
    return fake


@pytest.fixture
def client(units: Any, catalog: FakeCatalog) -> Iterator[TestClient[Litestar]]:
    settings = CoordinatorSettings.load()
    app = Litestar(
        [SagaReplayController, StockDashboardController],
        dependencies={
            "transactions": Provide(lambda: ThroughFakes(units), sync_to_thread=False),
            "settings": Provide(lambda: settings, sync_to_thread=False),
        },
        template_config=TEMPLATES,
    )
    with TestClient(app) as test_client:
        yield test_client


def test_a_stock_change_is_confirmed_then_made_for_the_operator(client: Any, catalog: FakeCatalog) -> None:
    listing = client.get("/dashboard/stock")
    assert listing.status_code == 200
    assert "Chrono &lt;b&gt;Trigger&lt;/b&gt;" in listing.text and 'data-adjusted-by="cli:ops"' in listing.text

    form = {"mode": "adjust", "amount": "3", "reason": "delivery"}
    confirm = client.get("/dashboard/stock/SNES-CHRONO/change", params=form)
    assert confirm.status_code == 200 and 'data-after="8"' in confirm.text and "Confirm change" in confirm.text
    assert catalog.changes == []

    done = client.post("/dashboard/stock/SNES-CHRONO/change", data=form, headers=OPERATOR, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/dashboard/stock?changed=SNES-CHRONO")
    assert catalog.changes == [("adjust", "SNES-CHRONO", 3, "delivery", "demo-operator")]


def test_a_count_carries_the_revision_it_was_confirmed_at(client: Any, catalog: FakeCatalog) -> None:
    confirm = client.get("/dashboard/stock/SNES-CHRONO/change", params={"mode": "set", "amount": "9"})
    assert 'name="revision" value="4"' in confirm.text and 'data-after="9"' in confirm.text
    form = {"mode": "set", "amount": "9", "reason": "", "revision": "4"}
    assert client.post("/dashboard/stock/SNES-CHRONO/change", data=form, follow_redirects=False).status_code == 303
    assert catalog.changes == [("set", "SNES-CHRONO", 9, 4, "direct")]


def test_a_wrong_form_or_a_refused_change_is_shown_on_the_page(client: Any, catalog: FakeCatalog) -> None:
    wrong = client.get("/dashboard/stock/SNES-CHRONO/change", params={"mode": "adjust", "amount": "lots"})
    assert wrong.status_code == 400 and "the amount must be a whole number" in wrong.text
    assert 'role="alert"' in wrong.text and "Confirm change" not in wrong.text
    refused = client.post(
        "/dashboard/stock/SNES-CHRONO/change", data={"mode": "adjust", "amount": "-6", "reason": "broken"}
    )
    assert refused.status_code == 409 and "catalog refused it (409)" in refused.text
    assert client.get("/dashboard/stock/NOPE/change", params={"amount": "1"}).status_code == 404
    assert catalog.changes == []


def test_a_saga_replay_is_confirmed_then_recorded_with_the_operator(client: Any, units: Any) -> None:
    saga = services.start_saga(units.uow, placed("o1"))
    assert saga is not None
    page = f"/dashboard/sagas/{saga.saga_id}/replay"

    confirm = client.get(page)
    assert confirm.status_code == 200 and "ReserveStock" in confirm.text and "Confirm replay" in confirm.text
    assert len(units.uow.sent) == 1

    done = client.post(page, headers=OPERATOR, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, f"{page}?sent=2")
    assert len(units.uow.sent) == 2
    assert units.uow.sagas.history[-1].actor == "demo-operator"
    assert 'data-outcome="replayed"' in client.get(f"{page}?sent=2").text


def test_a_finished_saga_offers_no_replay(client: Any, units: Any) -> None:
    saga = services.start_saga(units.uow, placed("o1"))
    assert saga is not None
    units.uow.sagas.rows[saga.saga_id].state = SagaState.COMPENSATED
    refused = client.post(f"/dashboard/sagas/{saga.saga_id}/replay")
    assert refused.status_code == 409 and "is COMPENSATED: nothing to replay" in refused.text
