"""The saga dashboard as an operator sees it: a completed, a compensated and a waiting saga, in Chromium.

The waiting saga waits on ``charge_payment`` while the payment service is stopped (within the charge's budget,
so it is waiting, not stuck); every test but the last runs in that state, and the last one brings payment back
and watches the saga finish.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from infra import services
from tests.support import api, place_order, settled_saga, wait_for

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = (ROOT / "tests" / "artifacts" / "dashboard.png", ROOT / "docs" / "images" / "dashboard.png")


@dataclass(frozen=True)
class Sagas:
    """The three sagas the tests look at (as the JSON API reported them)."""

    completed: dict[str, Any]
    compensated: dict[str, Any]
    waiting: dict[str, Any]


def _sku() -> str:
    """The product with the most stock, so that repeated runs do not run out."""
    products = api("catalog").get("/products").json()
    sku: str = max(products, key=lambda p: p["stock"])["sku"]
    return sku


def _order(payment_method: str) -> str:
    response = place_order([(_sku(), 1)], payment_method)
    assert response.status_code in (200, 201, 202), response.text
    order_id: str = response.json()["order_id"]
    return order_id


def _waiting(order_id: str) -> dict[str, Any] | None:
    items: list[dict[str, Any]] = api("coordinator").get("/sagas", params={"order_id": order_id}).json()["items"]
    return items[0] if items and items[0]["waiting"] else None


def _restart_payment() -> None:
    services.start("payment")
    services.wait_healthy("payment")


@pytest.fixture(scope="module")
def sagas(real_stack: None) -> Iterator[Sagas]:
    """A COMPLETED and a COMPENSATED saga, then one waiting on ``charge_payment`` with payment stopped.

    Payment stays down for the module's tests (the last one restarts it); it is started again at the end
    whatever happened.
    """
    completed = settled_saga(_order("pm_card_visa"))
    compensated = settled_saga(_order("pm_card_chargeCustomerFail"))
    assert (completed["state"], compensated["state"]) == ("COMPLETED", "COMPENSATED")
    services.stop("payment")
    try:
        order_id = _order("pm_card_visa")
        waiting = wait_for(lambda: _waiting(order_id), timeout_s=60, what=f"saga of order {order_id} to wait")
        assert (waiting["stuck"], waiting["waiting_on"]) == (False, "payment")  # within its budget
        yield Sagas(completed, compensated, waiting)
    finally:
        _restart_payment()


def _row(page: Page, saga: dict[str, Any]) -> Locator:
    return page.locator(f'#sagas tr[data-saga-id="{saga["saga_id"]}"]')


def _card(page: Page, label: str) -> Locator:
    return page.locator(f'[data-card="{label}"] .value')


def test_the_summary_counts_what_the_api_counts(page: Page, sagas: Sagas) -> None:
    page.goto("/dashboard")
    expect(page).to_have_title("Sagas · RetroVault")
    summary = api("coordinator").get("/sagas/summary").json()
    assert summary["waiting"] >= 1 and summary["by_step"].get("charge_payment", 0) >= 1
    for state in ("RUNNING", "COMPENSATING", "COMPLETED", "COMPENSATED", "FAILED"):
        expect(_card(page, state.title())).to_have_text(str(summary["by_state"].get(state, 0)))
    expect(_card(page, "All sagas")).to_have_text(str(sum(summary["by_state"].values())))
    expect(_card(page, "Stuck")).to_have_text(str(summary["stuck"]))
    expect(_card(page, "Waiting")).to_have_text(str(summary["waiting"]))
    expect(page.locator('[data-step="charge_payment"] b')).to_have_text(str(summary["by_step"]["charge_payment"]))
    durations = page.locator('[data-card="Completion time"]')
    expect(durations).to_contain_text("p50")
    expect(durations).to_contain_text("p99")
    expect(durations).to_contain_text(f"{summary['durations']['completed']} completed in the last 15 min")


def test_the_table_shows_each_saga_with_its_state_and_what_it_waits_on(page: Page, sagas: Sagas) -> None:
    page.goto("/dashboard")
    for saga, state in ((sagas.completed, "COMPLETED"), (sagas.compensated, "COMPENSATED")):
        expect(_row(page, saga).locator("[data-state]")).to_have_text(state)
        expect(_row(page, saga).locator("[data-stuck]")).to_have_count(0)
        expect(_row(page, saga).locator("[data-waiting]")).to_have_count(0)
    waiting = _row(page, sagas.waiting)
    expect(waiting.locator("[data-state]")).to_have_text("RUNNING")
    expect(waiting).to_have_class("waiting")
    expect(waiting.locator('[data-waiting="payment"]')).to_contain_text(
        re.compile(r"^waiting on payment since .*, \d+ re-sends?$")
    )
    expect(waiting.locator("[data-stuck]")).to_have_count(0)
    expect(waiting).to_contain_text("charge_payment")
    page.screenshot(path=str(SCREENSHOTS[0]), full_page=True)
    SCREENSHOTS[1].parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SCREENSHOTS[0], SCREENSHOTS[1])
    waiting.get_by_role("link", name=sagas.waiting["saga_id"][:8]).click()
    expect(page).to_have_url(re.compile(f"/dashboard/sagas/{sagas.waiting['saga_id']}$"))


def test_the_filters_narrow_the_table(page: Page, sagas: Sagas) -> None:
    page.goto("/dashboard")
    page.get_by_label("Waiting only").check()
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"/dashboard\?.*waiting=1"))
    expect(_row(page, sagas.waiting)).to_be_visible()
    rows = page.locator("#sagas tbody tr")
    expect(rows.locator("[data-waiting]")).to_have_count(rows.count())

    page.goto("/dashboard")
    page.get_by_label("Stuck only").check()
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"/dashboard\?.*stuck=1"))
    expect(_row(page, sagas.waiting)).to_have_count(0)  # waiting within its budget is not stuck
    rows = page.locator("#sagas tbody tr[data-saga-id]")
    expect(rows.locator("[data-stuck]")).to_have_count(rows.count())

    page.goto("/dashboard")
    page.get_by_label("State").select_option("COMPENSATED")
    page.get_by_role("button", name="Apply").click()
    expect(_row(page, sagas.compensated)).to_be_visible()
    expect(_row(page, sagas.completed)).to_have_count(0)
    states = set(page.locator("#sagas tbody [data-state]").all_inner_texts())
    assert states == {"COMPENSATED"}, states

    page.get_by_label("State").select_option("")
    page.get_by_label("Current step").select_option("charge_payment")
    page.get_by_role("button", name="Apply").click()
    expect(_row(page, sagas.waiting)).to_be_visible()
    expect(_row(page, sagas.compensated)).to_have_count(0)

    page.goto("/dashboard")
    page.get_by_label("Order id").fill(sagas.completed["order_id"])
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#sagas tbody tr")).to_have_count(1)
    expect(_row(page, sagas.completed)).to_be_visible()


def test_next_page_links_walk_the_sagas_newest_first(page: Page, sagas: Sagas) -> None:
    page.goto("/dashboard?limit=1")
    expect(page.locator("#sagas tbody tr")).to_have_count(1)
    expect(_row(page, sagas.waiting)).to_be_visible()
    expect(page.locator('[data-page="first"]')).to_have_count(0)
    page.locator('[data-page="next"]').click()
    expect(_row(page, sagas.compensated)).to_be_visible()
    page.locator('[data-page="next"]').click()
    expect(_row(page, sagas.completed)).to_be_visible()
    page.locator('[data-page="first"]').click()
    expect(_row(page, sagas.waiting)).to_be_visible()


def _timeline(page: Page) -> list[tuple[str, str, str]]:
    rows = page.locator("#timeline tbody tr")
    return [
        (
            row.get_attribute("data-kind") or "",
            row.get_attribute("data-action") or "",
            row.locator("td").nth(4).inner_text(),
        )
        for row in rows.all()
    ]


def _status(page: Page, panel: str, action: str) -> Locator:
    return page.locator(f'#{panel} li[data-action="{action}"]')


def test_a_completed_saga_shows_every_step_confirmed(page: Page, sagas: Sagas) -> None:
    page.goto(f"/dashboard/sagas/{sagas.completed['saga_id']}")
    expect(page.locator("#saga h2 [data-state]")).to_have_text("COMPLETED")
    for action in ("reserve_stock", "charge_payment", "approve_order"):
        expect(_status(page, "steps", action)).to_have_attribute("data-status", "done")
    expect(page.locator('[data-compensation="none"]')).to_be_visible()
    timeline = _timeline(page)
    for entry in (
        ("command_sent", "reserve_stock", "ReserveStock"),
        ("reply_received", "reserve_stock", "StockReserved"),
        ("command_sent", "charge_payment", "ChargePayment"),
        ("reply_received", "charge_payment", "PaymentSucceeded"),
        ("command_sent", "approve_order", "ApproveOrder"),
        ("reply_received", "approve_order", "OrderApproved"),
    ):
        assert entry in timeline, timeline
    assert timeline[-1][0] == "state_changed"
    expect(page.locator("#timeline tbody tr").last).to_contain_text("COMPLETED")
    expect(page.locator("pre")).to_contain_text(sagas.completed["data"]["payment_intent_id"])
    page.screenshot(path=str(SCREENSHOTS[0].with_name("saga-completed.png")), full_page=True)


def test_a_compensated_saga_shows_its_compensations_confirmed(page: Page, sagas: Sagas) -> None:
    page.goto(f"/dashboard/sagas/{sagas.compensated['saga_id']}")
    expect(page.locator("#saga h2 [data-state]")).to_have_text("COMPENSATED")
    expect(page.locator('[data-field="failure"]')).to_contain_text("declined")
    expect(_status(page, "steps", "reserve_stock")).to_have_attribute("data-status", "done")
    expect(_status(page, "steps", "charge_payment")).to_have_attribute("data-status", "refused")
    expect(_status(page, "steps", "approve_order")).to_have_attribute("data-status", "skipped")
    expect(page.locator('[data-compensation="2/2"]')).to_have_text("2 of 2 confirmed")
    for action in ("release_stock", "reject_order"):
        expect(_status(page, "compensation", action)).to_have_attribute("data-status", "done")
    expect(_status(page, "compensation", "refund_payment")).to_have_count(0)  # a refused charge is not refunded
    timeline = _timeline(page)
    assert ("reply_received", "charge_payment", "PaymentDeclined") in timeline, timeline
    assert ("command_sent", "release_stock", "ReleaseStock") in timeline, timeline
    assert ("reply_received", "reject_order", "OrderRejected") in timeline, timeline
    expect(page.locator("#timeline tr.compensation").first).to_contain_text("compensating")
    page.screenshot(path=str(SCREENSHOTS[0].with_name("saga-compensated.png")), full_page=True)


def test_a_waiting_saga_shows_on_whom_since_when_and_its_retries(page: Page, sagas: Sagas) -> None:
    page.goto(f"/dashboard/sagas/{sagas.waiting['saga_id']}")
    expect(page.locator("#saga h2 [data-state]")).to_have_text("RUNNING")
    waiting = page.locator('[data-field="waiting"]')
    expect(waiting).to_contain_text(re.compile(r"^waiting on payment since .*, \d+ re-sends?"))
    expect(waiting).to_contain_text("rolls back at")
    expect(page.locator('[data-field="stuck"]')).to_have_text("no")
    expect(_status(page, "steps", "reserve_stock")).to_have_attribute("data-status", "done")
    expect(_status(page, "steps", "charge_payment")).to_have_attribute("data-status", "waiting")
    expect(_status(page, "steps", "approve_order")).to_have_attribute("data-status", "remaining")
    expect(page.locator('[data-compensation="none"]')).to_be_visible()
    timeline = _timeline(page)
    assert ("timed_out", "charge_payment", "—") in timeline, timeline
    retries = page.locator('#timeline tr[data-kind="command_sent"][data-action="charge_payment"]')
    expect(retries.nth(1).locator("td").nth(5)).to_have_text("2")
    page.screenshot(path=str(SCREENSHOTS[0].with_name("saga-waiting.png")), full_page=True)


def test_an_unknown_saga_is_a_404_page(page: Page, sagas: Sagas) -> None:
    for saga_id in ("00000000-0000-0000-0000-000000000000", "not-a-saga"):
        response = page.goto(f"/dashboard/sagas/{saga_id}")
        assert response is not None and response.status == 404
        assert response.headers["content-type"].startswith("text/html")
        expect(page.get_by_role("heading", name="Saga not found")).to_be_visible()
        expect(page.locator("main")).to_contain_text(saga_id)


def test_the_waiting_saga_page_updates_itself_when_payment_is_back(page: Page, sagas: Sagas) -> None:
    page.goto(f"/dashboard/sagas/{sagas.waiting['saga_id']}")
    expect(page.locator("#saga h2 [data-state]")).to_have_text("RUNNING")
    _restart_payment()
    assert settled_saga(sagas.waiting["order_id"], timeout_s=60)["state"] == "COMPLETED"
    expect(page.locator("#saga h2 [data-state]")).to_have_text("COMPLETED", timeout=20_000)  # no reload
    expect(page.locator('[data-field="stuck"]')).to_have_text("no")
    expect(page.locator('[data-field="waiting"]')).to_have_text("no")
    expect(_status(page, "steps", "charge_payment")).to_have_attribute("data-status", "done")
    expect(_status(page, "steps", "approve_order")).to_have_attribute("data-status", "done")
