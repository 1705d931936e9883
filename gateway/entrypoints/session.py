"""Who is calling, from ``Authorization: Bearer`` or else the browser session's ``rv_session`` cookie, and the
CSRF rule for cookie-authenticated changes (see ``gateway.domain.session``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect

from gateway import services
from gateway.domain.principals import Principal
from gateway.domain.session import same_origin
from gateway.entrypoints.context import Gateway
from plumbing.http import problem

SESSION_COOKIE = "rv_session"
CART_COOKIE = "rv_cart"


@dataclass(frozen=True)
class Caller:
    """The verified caller (None: anonymous) and whether the session cookie named them."""

    principal: Principal | None
    via_cookie: bool = False


async def authenticate(gateway: Gateway, request: Request[Any, Any, Any]) -> Caller:
    """The caller the ``Authorization`` header names, else the one the session cookie names, else anonymous;
    ``InvalidToken`` when the one given does not verify."""
    authorization = request.headers.get("authorization")
    via_cookie = authorization is None and bool(request.cookies.get(SESSION_COOKIE))
    if via_cookie:
        authorization = f"Bearer {request.cookies[SESSION_COOKIE]}"
    if gateway.verifier.blocking and authorization is not None:
        principal = await anyio.to_thread.run_sync(services.caller, gateway.verifier, authorization)
    else:
        principal = services.caller(gateway.verifier, authorization)
    return Caller(principal, via_cookie)


def cross_site(request: Request[Any, Any, Any], caller: Caller | None = None) -> Response[Any] | None:
    """403 problem+json for a change that does not come from the gateway's own pages: any change to a storefront
    page (``caller`` None: whether or not a cookie came, as a cross-site form carries none under SameSite=Lax
    yet would get the answer's cookies), or an API call authenticated with the session cookie."""
    headers = request.headers
    if (caller is not None and not caller.via_cookie) or same_origin(
        request.method, headers.get("host"), headers.get("origin"), headers.get("referer")
    ):
        return None
    detail = "a change made with the session cookie must come from this site's own pages (Origin or Referer)"
    return problem(403, "Forbidden", detail, [{"field": "Origin", "message": "must be this site"}])


def to_login(request: Request[Any, Any, Any], expired: bool) -> Response[Any] | None:
    """For a person's browser asking for an operator's page (``GET /dashboard…``, ``Accept: text/html``) without a
    valid session: a redirect to the login page, back here afterwards. None for everything else (API clients
    keep their 401 problem+json)."""
    path = request.scope["path"]
    if request.method != "GET" or not path.startswith("/dashboard"):
        return None
    if "text/html" not in request.headers.get("accept", ""):
        return None
    return login_redirect(request, expired)


def login_redirect(request: Request[Any, Any, Any], expired: bool) -> Redirect:
    """To the login page (saying the session expired, if it did), coming back here afterwards."""
    here = request.scope["path"] + (f"?{request.url.query}" if request.url.query else "")
    target = f"/login?next={quote(here, safe='')}" + ("&expired=1" if expired else "")
    return Redirect(target, status_code=303, headers={"Cache-Control": "no-store"})


def session_cookie(token: str | None, secure: bool) -> Cookie:
    """The session cookie holding ``token``; None: the cookie that clears it."""
    return Cookie(
        key=SESSION_COOKIE,
        value=token or "",
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
        max_age=None if token else 0,
    )
