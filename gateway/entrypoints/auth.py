"""The local issuer's HTTP API: ``POST /auth/token`` (log in) and ``GET /.well-known/jwks.json`` (its key)."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import NotAuthorizedException

from gateway import services
from gateway.entrypoints.context import GatewayDependency
from plumbing.http import FieldProblem, decode_strictly, problems

NO_STORE = {"Cache-Control": "no-store"}


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /auth/token`` as JSON (a form with the same fields works too, as OAuth 2's password grant)."""

    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class TokenAnswer(msgspec.Struct):
    """An access token (RFC 6749 section 5.1): send it as ``Authorization: Bearer <access_token>``."""

    access_token: str
    expires_in: int
    token_type: str = "Bearer"


async def _credentials(request: Request[Any, Any, Any]) -> Credentials:
    if request.content_type[0] == "application/x-www-form-urlencoded":
        form = await request.form()
        fields = {name: form.get(name) for name in ("username", "password")}
        for name, value in fields.items():
            if not isinstance(value, str) or not value or len(value) > 1024:
                raise FieldProblem(name, "is required (1 to 1024 characters)", status_code=400)
        return Credentials(username=fields["username"], password=fields["password"])  # type: ignore[arg-type]
    return decode_strictly(await request.body(), Credentials)


@post("/auth/token", status_code=200, responses=problems(401, 404))
async def issue_token(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[TokenAnswer]:
    """Log in: a token for the user whose name and password these are; 401 otherwise (which one was wrong is
    not said). Only while the gateway is its own issuer (no ``RV_GATEWAY_JWKS_URL``)."""
    issuer = gateway.issuer
    if issuer is None:
        raise FieldProblem("username", "logins are handled by the identity provider", status_code=404)
    credentials = await _credentials(request)

    def log_in() -> TokenAnswer:
        token = services.log_in(gateway.users, gateway.passwords, issuer, credentials.username, credentials.password)
        return TokenAnswer(access_token=token.access_token, expires_in=token.expires_in)

    try:
        answer = await anyio.to_thread.run_sync(log_in)
    except services.BadCredentials as error:
        raise NotAuthorizedException("wrong username or password", headers={"WWW-Authenticate": "Bearer"}) from error
    return Response(answer, headers=NO_STORE)


@get("/.well-known/jwks.json", responses=problems(404))
async def key_set(gateway: GatewayDependency) -> dict[str, Any]:
    """The local issuer's public key (JWKS), for anyone who verifies its tokens; 404 with an identity provider."""
    if gateway.jwks is None:
        raise FieldProblem("path", "the gateway issues no tokens: see the identity provider's key set", status_code=404)
    return gateway.jwks


AUTH_ROUTES = [issue_token, key_set]
