"""``/dashboard/stock``: the products with their stock, and a form to adjust or count one, confirmed first.

The change goes to catalog's HTTP API (``coordinator.ports.CatalogStock``) with the operator the gateway
authenticated as ``X-Authenticated-Subject``, which catalog records as the adjustment's ``adjusted_by``. Plain
forms: the product's form asks for a confirmation page (GET), whose button posts the change and redirects (303)
to the list saying what happened; a change catalog refuses is shown on the confirmation page with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter, SkipValidation
from litestar.response import Redirect, Template

from coordinator.adapters.catalog_client import CatalogClient
from coordinator.entrypoints.dashboard_format import PATH
from coordinator.entrypoints.dashboard_pages import page
from coordinator.ports import CatalogStock, StockRefused
from coordinator.settings import CoordinatorSettings
from plumbing.actors import Operator, Subject, actor
from plumbing.http import Identifier

STOCK = f"{PATH}/stock"
Stock = NamedDependency[SkipValidation[CatalogStock]]
"""Catalog's API as the handlers get it (a protocol, so Litestar cannot check the instance's type)."""
Field = Annotated[str | None, QueryParameter(max_length=200)]
MAX_AMOUNT = 1_000_000


def catalog_stock(settings: NamedDependency[CoordinatorSettings]) -> CatalogStock:
    """Catalog's HTTP API where the settings say it is."""
    return CatalogClient(settings.catalog_url)


@dataclass
class StockChange:
    """The product form as typed: ``mode`` ``adjust`` (add ``amount`` on hand, negative takes away) or ``set``
    (``amount`` available, counted at ``revision``), and why."""

    mode: str = "adjust"
    amount: str = ""
    reason: str = ""
    revision: str = ""

    def problem(self) -> str | None:
        """What is wrong with the form, in words for the page (None: nothing)."""
        if self.mode not in ("adjust", "set"):
            return "choose whether to adjust units on hand or set the units available"
        try:
            amount = int(self.amount)
        except ValueError:
            return f"the amount must be a whole number, not {self.amount!r}"
        if abs(amount) > MAX_AMOUNT or (self.mode == "set" and amount < 0):
            return f"the amount must be between {0 if self.mode == 'set' else -MAX_AMOUNT} and {MAX_AMOUNT}"
        if self.mode == "adjust" and amount == 0:
            return "an adjustment must add or take away at least one unit"
        if self.mode == "adjust" and not self.reason.strip():
            return "say why (the reason is recorded with the adjustment)"
        return None


def _product(stock: Stock, sku: str) -> dict[str, Any] | None:
    return next((p for p in stock.products() if p["sku"] == sku), None)


class StockDashboardController(Controller):
    """The stock page, a change's confirmation page and the change itself."""

    path = STOCK
    include_in_schema = False
    dependencies = {"stock": Provide(catalog_stock, sync_to_thread=False)}

    @get("/", sync_to_thread=True)
    def stock_page(self, stock: Stock, changed: Field = None) -> Template:
        """Every product with units on hand, reserved and available, a form to change them, and the latest
        adjustments with who made them; ``changed`` names the product just changed."""
        try:
            products, adjustments, error = stock.products(), stock.adjustments(), None
        except StockRefused as refused:
            products, adjustments, error = [], [], str(refused)
        context = {"products": products, "adjustments": adjustments, "changed": changed, "error": error}
        return page("stock.html.j2", context, 503 if error else 200)

    @get("/{sku:str}/change", sync_to_thread=True)
    def confirm_change(
        self,
        stock: Stock,
        sku: Identifier,
        mode: Field = "adjust",
        amount: Field = "",
        reason: Field = "",
    ) -> Template:
        """The product now and after the change, with the button that makes it (or what is wrong with it)."""
        change = StockChange(mode or "adjust", (amount or "").strip(), (reason or "").strip())
        return self._confirmation(stock, sku, change, change.problem())

    @post("/{sku:str}/change")
    async def change(
        self,
        request: Request[Any, Any, Any],
        stock: Stock,
        sku: Identifier,
        subject: Subject = None,
        operator: Operator = None,
    ) -> Template | Redirect:
        """Make the confirmed change (the confirmation page's form) through catalog's API for the operator; then
        list the products again.

        The form is read here rather than as a ``data`` parameter: the input guard decodes any ``data`` as JSON.
        """
        form = await request.form()
        data = StockChange(*(str(form.get(name, "")) for name in ("mode", "amount", "reason", "revision")))
        return await anyio.to_thread.run_sync(self._make, stock, sku, data, actor(subject, operator))

    def _make(self, stock: CatalogStock, sku: str, data: StockChange, who: str) -> Template | Redirect:
        problem = data.problem()
        if problem is None:
            try:
                if data.mode == "set":
                    stock.set_available(sku, int(data.amount), int(data.revision or "0"), who)
                else:
                    stock.adjust(sku, int(data.amount), data.reason.strip(), who)
            except StockRefused as refused:
                problem = f"catalog refused it ({refused.status}): {refused}"
            else:
                return Redirect(STOCK, query_params={"changed": sku}, status_code=303)
        return self._confirmation(stock, sku, data, problem, status_code=409)

    def _confirmation(
        self, stock: Stock, sku: str, change: StockChange, problem: str | None, status_code: int = 200
    ) -> Template:
        try:
            product = _product(stock, sku)
        except StockRefused as refused:
            missing: dict[str, Any] = {"products": [], "adjustments": [], "changed": None, "error": str(refused)}
            return page("stock.html.j2", missing, 503)
        if product is None:
            missing = {"products": [], "adjustments": [], "changed": None, "error": f"no product {sku!r}"}
            return page("stock.html.j2", missing, 404)
        if change.mode == "set" and not change.revision:
            change.revision = str(product["revision"])
        after = None
        if problem is None:
            after = int(change.amount) + (product["available"] if change.mode == "adjust" else 0)
        context: dict[str, Any] = {"product": product, "change": change, "problem": problem, "after": after}
        return page("confirm_stock.html.j2", context, 400 if problem and status_code == 200 else status_code)
