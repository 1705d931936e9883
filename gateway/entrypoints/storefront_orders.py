"""The storefront's orders: checkout (one order per checkout, however often it is submitted), an order's page
whose status updates itself, and "My orders". Every page here needs a login."""

from __future__ import annotations

import math
import re
import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from gateway.domain.cards import TEST_CARDS, test_card
from gateway.domain.catalogue import Game, priced
from gateway.domain.principals import Principal, Role
from gateway.entrypoints.context import Gateway, GatewayDependency
from gateway.entrypoints.pages import (
    NO_STORE,
    Visitor,
    cart_cookie,
    login_redirect,
    problem_page,
    refused_change,
    render,
    unavailable,
    visitor,
)
from gateway.entrypoints.storefront_calls import Unavailable, call, games

KEY = re.compile(r"[A-Za-z0-9-]{1,64}")
ORDER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
FINAL = frozenset({"APPROVED", "REJECTED"})


@get("/checkout", include_in_schema=False)
async def checkout_page(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[Any]:
    """The checkout form: the cart's total, a test card to pay with, and this checkout's Idempotency-Key."""
    who = await visitor(gateway, request)
    if who.principal is None:
        return login_redirect(request, who)
    return await _checkout(gateway, who, None, 200)


async def _checkout(gateway: Gateway, who: Visitor, message: str | None, status: int) -> Response[Any]:
    try:
        shelf = {g.sku: g for g in await games(gateway, who.principal)} if who.cart.lines else {}
    except Unavailable as down:
        return unavailable(who, down.service)
    lines, total = priced(who.cart.lines, shelf)
    context = {
        "title": "Check out",
        "lines": lines,
        "total": total,
        "cards": TEST_CARDS,
        "key": str(uuid.uuid4()),
        "message": message,
    }
    return render("checkout.html.j2", who, context, status)


def _unavailable_lines(cart_lines: dict[str, int], shelf: dict[str, Game]) -> str | None:
    """What in the cart cannot be ordered, for the shopper; None when all of it can."""
    for sku, quantity in cart_lines.items():
        found = shelf.get(sku)
        if found is None:
            return f"We no longer sell the game {sku!r}: remove it from your cart."
        if found.available < quantity:
            left = f"only {found.available} left" if found.available else "out of stock"
            return f"{found.title} is {left}: change your cart."
    return None


@post("/checkout", include_in_schema=False)
async def place_order(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[Any]:
    """Place the cart's order for the logged-in customer with the chosen test card, then go to its page.

    The form's Idempotency-Key makes a second submit of the same checkout find the same order.
    """
    if (refused := refused_change(request)) is not None:
        return refused
    who = await visitor(gateway, request)
    if who.principal is None:
        return login_redirect(request, who)
    form = await request.form()
    key, card = str(form.get("idempotency_key") or ""), test_card(str(form.get("card") or ""))
    if who.cart.checked_out is not None and who.cart.checked_out[0] == key:
        return Redirect(f"/orders/{who.cart.checked_out[1]}", status_code=303, headers=NO_STORE)
    if not who.cart.lines:
        return await _checkout(gateway, who, "Your cart is empty.", 400)
    if not KEY.fullmatch(key) or card is None:
        return await _checkout(gateway, who, "Choose a test card, then place the order.", 400)
    try:
        wrong = _unavailable_lines(who.cart.lines, {g.sku: g for g in await games(gateway, who.principal)})
        if wrong is not None:
            return await _checkout(gateway, who, wrong, 409)
        if (wait := _rate_limited(gateway, who.principal)) > 0:
            seconds = math.ceil(wait)
            message = f"You are placing orders too quickly. Please wait {seconds} seconds and try again."
            answer = problem_page(who, 429, "Too many orders", message)
            answer.headers["Retry-After"] = str(seconds)
            return answer
        body = {
            "customer_id": who.principal.subject,
            "items": [{"sku": sku, "quantity": n} for sku, n in who.cart.lines.items()],
            "payment_method": card.payment_method,
        }
        status, answer = await call(
            gateway, "orders", "POST", "/orders", who.principal, body=body, headers={"Idempotency-Key": key}
        )
    except Unavailable as down:
        return unavailable(who, down.service)
    if status != 202 or not isinstance(answer, dict):
        detail = answer.get("detail") if isinstance(answer, dict) else None
        return await _checkout(gateway, who, f"The order could not be placed: {detail or status}.", 409)
    order_id = str(answer["order_id"])
    cookie = cart_cookie(gateway, who.cart.placed(key, order_id))
    return Redirect(f"/orders/{order_id}", status_code=303, cookies=[cookie], headers=NO_STORE)


def _rate_limited(gateway: Gateway, caller: Principal) -> float:
    if caller.role is Role.OPERATOR:
        return 0.0
    return gateway.order_buckets.take(caller.subject, gateway.monotonic())


@get("/orders/{order_id:str}", include_in_schema=False)
async def order_page(
    request: Request[Any, Any, Any], gateway: GatewayDependency, order_id: FromPath[str]
) -> Response[Any]:
    """An order: its lines, total and status, which polls itself every second until it is final."""
    who = await visitor(gateway, request)
    if who.principal is None:
        return login_redirect(request, who)
    missing = problem_page(who, 404, "No such order", f"You have no order {order_id!r}.")
    if not ORDER_ID.fullmatch(order_id) or order_id in (".", ".."):
        return missing
    try:
        status, order = await call(gateway, "orders", "GET", f"/orders/{order_id}", who.principal)
        shelf = {g.sku: g for g in await games(gateway, who.principal)} if status == 200 else {}
    except Unavailable as down:
        return unavailable(who, down.service)
    mine = isinstance(order, dict) and (
        order.get("customer_id") == who.principal.subject or who.principal.role is Role.OPERATOR
    )
    if status != 200 or not mine:
        return missing
    context = {"title": f"Order {order_id}", "order": order, "shelf": shelf, "final": order["status"] in FINAL}
    return render("order.html.j2", who, context)


@get("/orders", include_in_schema=False)
async def my_orders(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[Any]:
    """The logged-in customer's orders, newest first."""
    who = await visitor(gateway, request)
    if who.principal is None:
        return login_redirect(request, who)
    query = {"customer_id": who.principal.subject, "limit": 100}
    try:
        status, orders = await call(gateway, "orders", "GET", "/orders", who.principal, query=query)
    except Unavailable as down:
        return unavailable(who, down.service)
    if status != 200 or not isinstance(orders, list):
        return unavailable(who, "orders")
    return render("orders.html.j2", who, {"title": "My orders", "orders": orders})


ORDER_ROUTES = [checkout_page, place_order, order_page, my_orders]
