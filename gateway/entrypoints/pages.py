"""What the storefront's pages share: who is visiting, their cart, rendering a template, and error pages.

Templates live in ``gateway/templates/storefront``, rendered by Jinja2 with autoescaping and strict names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import MediaType, Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect

from gateway.domain import cart as carts
from gateway.domain.catalogue import price
from gateway.domain.principals import Principal
from gateway.entrypoints import session
from gateway.entrypoints.context import Gateway
from gateway.entrypoints.session import CART_COOKIE, authenticate, cross_site
from gateway.ports import InvalidToken
from plumbing.htmx import HTMX_JS

STATIC = "/static"
NO_STORE = {"Cache-Control": "no-store"}


def _when(value: str | None) -> str:
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "templates" / "storefront"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters.update(price=price, when=_when)
_ENV.globals.update(static=STATIC, htmx_src=f"{STATIC}/{HTMX_JS.name}")


@dataclass(frozen=True)
class Visitor:
    """Who is on the page (``principal`` None: nobody logged in), whether their session cookie had expired
    (or did not verify), and their cart."""

    principal: Principal | None
    session_expired: bool
    cart: carts.Cart


async def visitor(gateway: Gateway, request: Request[Any, Any, Any]) -> Visitor:
    """The visitor a page request comes from."""
    cart = carts.decode(request.cookies.get(CART_COOKIE), gateway.browser.cart_key)
    try:
        caller = await authenticate(gateway, request)
    except InvalidToken:
        return Visitor(None, True, cart)
    return Visitor(caller.principal, False, cart)


def refused_change(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """403 for a change to a page sent from another site (CSRF), with or without the session cookie; None when
    it may go on."""
    return cross_site(request)


def login_redirect(request: Request[Any, Any, Any], who: Visitor) -> Redirect:
    """To the login page, coming back here afterwards."""
    return session.login_redirect(request, who.session_expired)


def cart_cookie(gateway: Gateway, cart: carts.Cart) -> Cookie:
    """The signed cookie holding ``cart`` (for the browser session only)."""
    return Cookie(
        key=CART_COOKIE,
        value=carts.encode(cart, gateway.browser.cart_key),
        path="/",
        httponly=True,
        samesite="lax",
        secure=gateway.browser.secure,
    )


def render(
    name: str,
    who: Visitor,
    context: dict[str, Any],
    status_code: int = 200,
    cookies: list[Cookie] | None = None,
) -> Response[str]:
    """The template ``name`` as a page for ``who`` (the header shows their cart and login)."""
    page = _ENV.get_template(name).render(
        user=who.principal.subject if who.principal else None, cart_count=who.cart.count, **context
    )
    return Response(page, status_code=status_code, media_type=MediaType.HTML, headers=NO_STORE, cookies=cookies or [])


def problem_page(who: Visitor, status_code: int, title: str, message: str) -> Response[str]:
    """A page saying what went wrong, for people (not JSON)."""
    return render("problem.html.j2", who, {"title": title, "message": message}, status_code)


def unavailable(who: Visitor, service: str) -> Response[str]:
    """The friendly 503 page for a service that did not answer."""
    message = f"Our {service} service is not answering right now. Please try again in a moment."
    response = problem_page(who, 503, "Sorry, something is down", message)
    response.headers["Retry-After"] = "5"
    return response
