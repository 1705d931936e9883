"""The browser session: ``GET/POST /login`` (a form) and ``POST /logout``; the token rides in the
``rv_session`` cookie (see ``gateway.entrypoints.session``)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.response import Redirect

from gateway import services
from gateway.domain.session import local_path
from gateway.entrypoints.context import GatewayDependency
from gateway.entrypoints.pages import NO_STORE, problem_page, refused_change, render, visitor
from gateway.entrypoints.session import session_cookie

EXPIRED = "Your session has expired, please log in again."
WRONG = "Wrong username or password."


@get("/login", include_in_schema=False)
async def login_page(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[Any]:
    """The login form; ``next`` is where to go after (a path on this site), ``expired`` says why we are here."""
    who = await visitor(gateway, request)
    expired = EXPIRED if request.query_params.get("expired") else None
    context = {"title": "Log in", "next": local_path(request.query_params.get("next")), "username": ""}
    return render("login.html.j2", who, context | {"message": None, "expired": expired})


@post("/login", include_in_schema=False)
async def log_in(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[Any]:
    """Check the form's username and password; on success set the session cookie and go to ``next``."""
    who = await visitor(gateway, request)
    form = await request.form()
    username, password = str(form.get("username") or "")[:64], str(form.get("password") or "")[:1024]
    target = local_path(str(form.get("next") or ""))
    issuer = gateway.issuer
    if issuer is None:
        return problem_page(who, 404, "No login here", "Logins are handled by the identity provider.")
    if not username or not password:
        return _failed(who, target, username, "Enter your username and password.")
    try:
        token = await anyio.to_thread.run_sync(
            services.log_in, gateway.users, gateway.passwords, issuer, username, password
        )
    except services.BadCredentials:
        return _failed(who, target, username, WRONG)
    cookie = session_cookie(token.access_token, gateway.browser.secure)
    return Redirect(target, status_code=303, cookies=[cookie], headers=NO_STORE)


def _failed(who: Any, target: str, username: str, message: str) -> Response[Any]:
    context = {"title": "Log in", "next": target, "username": username, "message": message}
    return render("login.html.j2", who, context, status_code=401)


@post("/logout", include_in_schema=False)
async def log_out(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[Any]:
    """Clear the session cookie and go to the catalogue."""
    who = await visitor(gateway, request)
    if (refused := refused_change(request, who)) is not None:
        return refused
    return Redirect("/", status_code=303, cookies=[session_cookie(None, gateway.browser.secure)], headers=NO_STORE)


LOGIN_ROUTES = [login_page, log_in, log_out]
