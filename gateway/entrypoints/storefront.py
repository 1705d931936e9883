"""The storefront's shop: the catalogue with its search, a game's page with its cover, and the cart."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect
from markupsafe import Markup

from gateway.domain import cart as carts
from gateway.domain.catalogue import platforms, priced, search
from gateway.domain.cover_art import cover_svg
from gateway.entrypoints.context import Gateway, GatewayDependency
from gateway.entrypoints.pages import (
    NO_STORE,
    Visitor,
    cart_cookie,
    problem_page,
    refused_change,
    render,
    unavailable,
    visitor,
)
from gateway.entrypoints.storefront_calls import Unavailable, game, games

SKU = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")


def _no_game(who: Visitor, sku: str) -> Response[Any]:
    return problem_page(who, 404, "No such game", f"We have no game with the code {sku!r}.")


@get("/", include_in_schema=False)
async def catalogue(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[Any]:
    """Every game, or those whose title contains ``q`` (any case) on ``platform``; works as a plain form, and
    htmx swaps in the results as the shopper types."""
    who = await visitor(gateway, request)
    text = (request.query_params.get("q") or "")[:100]
    platform = (request.query_params.get("platform") or "")[:64]
    try:
        shelf = await games(gateway, who.principal)
    except Unavailable as down:
        return unavailable(who, down.service)
    found = search(shelf, text, platform or None)
    context = {"title": "Games", "q": text, "platform": platform, "platforms": platforms(shelf), "games": found}
    return render("catalogue.html.j2", who, context)


@get("/products/{sku:str}", include_in_schema=False)
async def product(request: Request[Any, Any, Any], gateway: GatewayDependency, sku: FromPath[str]) -> Response[Any]:
    """A game's page: its generated cover, price, platform and availability, and a form to add it."""
    who = await visitor(gateway, request)
    if not SKU.fullmatch(sku):
        return _no_game(who, sku)
    try:
        found = await game(gateway, who.principal, sku)
    except Unavailable as down:
        return unavailable(who, down.service)
    if found is None:
        return _no_game(who, sku)
    cover = Markup(cover_svg(found.title, found.platform))  # cover_svg escapes every text it holds
    return render("product.html.j2", who, {"title": found.title, "game": found, "cover": cover})


@get("/cart", include_in_schema=False)
async def cart_page(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[Any]:
    """The cart: a line per game with its quantity and price, the total, and the way to check out."""
    who = await visitor(gateway, request)
    return await _cart(gateway, who, None, 200)


async def _cart(gateway: Gateway, who: Visitor, message: str | None, status: int, **cookies: Any) -> Response[Any]:
    try:
        shelf = {g.sku: g for g in await games(gateway, who.principal)} if who.cart.lines else {}
    except Unavailable as down:
        return unavailable(who, down.service)
    lines, total = priced(who.cart.lines, shelf)
    context = {"title": "Cart", "lines": lines, "total": total, "message": message}
    return render("cart.html.j2", who, context, status, cookies=list(cookies.values()))


@post("/cart", include_in_schema=False)
async def add_to_cart(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[Any]:
    """Add ``quantity`` (1 to 10) of the game ``sku`` to the cart, then show the cart."""
    if (refused := refused_change(request)) is not None:
        return refused
    who = await visitor(gateway, request)
    form = await request.form()
    sku = str(form.get("sku") or "")
    try:
        quantity = int(str(form.get("quantity") or "1"))
    except ValueError:
        return await _cart(gateway, who, "Choose a quantity from 1 to 10.", 400)
    try:
        found = await game(gateway, who.principal, sku) if SKU.fullmatch(sku) else None
    except Unavailable as down:
        return unavailable(who, down.service)
    if found is None:
        return await _cart(gateway, who, f"We have no game with the code {sku!r}.", 404)
    if found.available < who.cart.lines.get(sku, 0) + quantity:
        left = f"only {found.available} left" if found.available else "out of stock"
        return await _cart(gateway, who, f"{found.title} is {left}.", 409)
    try:
        changed = who.cart.add(sku, quantity)
    except carts.CartError as error:
        return await _cart(gateway, who, str(error), 400)
    return Redirect("/cart", status_code=303, cookies=[cart_cookie(gateway, changed)], headers=NO_STORE)


@post("/cart/remove", include_in_schema=False)
async def remove_from_cart(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[Any]:
    """Take the game ``sku`` out of the cart, then show the cart."""
    if (refused := refused_change(request)) is not None:
        return refused
    who = await visitor(gateway, request)
    form = await request.form()
    changed = who.cart.remove(str(form.get("sku") or ""))
    return Redirect("/cart", status_code=303, cookies=[cart_cookie(gateway, changed)], headers=NO_STORE)


SHOP_ROUTES = [catalogue, product, cart_page, add_to_cart, remove_from_cart]
