"""The browser session: ``GET/POST /login`` (a form) and ``POST /logout``; the token rides in the
``rv_session`` cookie (see ``gateway.entrypoints.session``)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect

from gateway import services
from gateway.domain.session import local_path
from gateway.entrypoints.context import GatewayDependency
from gateway.entrypoints.login_attempts import TooManyLogins, attempt_login
from gateway.entrypoints.pages import NO_STORE, Visitor, problem_page, refused_change, render, visitor
from gateway.entrypoints.session import session_cookie

EXPIRED = "Your session has expired, please log in again."
WRONG = "Wrong username or password."


@get("/login", include_in_schema=False)
async def login_page(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[Any]:
    """The login form; ``next`` is where to go after (a path on this site), ``expired`` says why we are here."""
    who = await visitor(gateway, request)
    expired = EXPIRED if request.query_params.get("expired") else None
    context = {"title": "Log in", "next": local_path(request.query_params.get("next")), "username": ""}
    demo = gateway.browser.demo_logins
    return render("login.html.j2", who, context | {"message": None, "expired": expired, "demo_logins": demo})


@post("/login", include_in_schema=False)
async def log_in(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[Any]:
    """Check the form's username and password; on success set the session cookie and go to ``next``. Only from
    this site's own pages (no login CSRF); too many attempts are a 429 with ``Retry-After``."""
    if (refused := refused_change(request)) is not None:
        return refused
    who = await visitor(gateway, request)
    demo = gateway.browser.demo_logins
    form = await request.form()
    username, password = str(form.get("username") or "")[:64], str(form.get("password") or "")[:1024]
    target = local_path(str(form.get("next") or ""))
    issuer = gateway.issuer
    if issuer is None:
        return problem_page(who, 404, "No login here", "Logins are handled by the identity provider.")
    if not username or not password:
        return _failed(who, target, username, "Enter your username and password.", demo)
    try:
        token = await attempt_login(gateway, issuer, request, username, password)
    except services.BadCredentials:
        return _failed(who, target, username, WRONG, demo)
    except TooManyLogins as limited:
        message = f"Too many login attempts. Please wait {limited.retry_after} seconds and try again."
        answer = _failed(who, target, username, message, demo, status_code=429)
        answer.headers["Retry-After"] = str(limited.retry_after)
        return answer
    cookie = session_cookie(token.access_token, gateway.browser.secure)
    return Redirect(target, status_code=303, cookies=[cookie], headers=NO_STORE)


def _failed(
    who: Visitor, target: str, username: str, message: str, demo: bool, status_code: int = 401
) -> Response[Any]:
    context = {"title": "Log in", "next": target, "username": username, "message": message, "demo_logins": demo}
    return render("login.html.j2", who, context, status_code=status_code)


@post("/logout", include_in_schema=False)
async def log_out(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[Any]:
    """Clear the session cookie and go to the catalogue."""
    if (refused := refused_change(request)) is not None:
        return refused
    return Redirect("/", status_code=303, cookies=[session_cookie(None, gateway.browser.secure)], headers=NO_STORE)


LOGIN_ROUTES = [login_page, log_in, log_out]
