"""The local issuer's HTTP API: ``POST /auth/token`` (log in) and ``GET /.well-known/jwks.json`` (its key)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.openapi.datastructures import ResponseSpec

from gateway import services
from gateway.entrypoints.context import GatewayDependency
from gateway.entrypoints.login_attempts import TooManyLogins, attempt_login
from plumbing.http import PROBLEM_JSON, FieldProblem, ProblemDetails, decode_strictly, problems

NO_STORE = {"Cache-Control": "no-store"}
TOO_MANY = ResponseSpec(
    data_container=ProblemDetails,
    media_type=PROBLEM_JSON,
    description="Too many login attempts from this address or for this username: retry after `Retry-After` seconds.",
    generate_examples=False,
)


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


@post("/auth/token", status_code=200, responses={**problems(401, 404), 429: TOO_MANY})
async def issue_token(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[TokenAnswer]:
    """Log in: a token for the user whose name and password these are; 401 otherwise (which one was wrong is
    not said); 429 with ``Retry-After`` after too many attempts from one address or for one username. Only
    while the gateway is its own issuer (no ``RV_GATEWAY_JWKS_URL``)."""
    issuer = gateway.issuer
    if issuer is None:
        raise FieldProblem("username", "logins are handled by the identity provider", status_code=404)
    credentials = await _credentials(request)
    try:
        token = await attempt_login(gateway, issuer, request, credentials.username, credentials.password)
    except services.BadCredentials as error:
        raise NotAuthorizedException("wrong username or password", headers={"WWW-Authenticate": "Bearer"}) from error
    except TooManyLogins as limited:
        raise TooManyRequestsException(str(limited), headers={"Retry-After": str(limited.retry_after)}) from limited
    return Response(TokenAnswer(access_token=token.access_token, expires_in=token.expires_in), headers=NO_STORE)


@get("/.well-known/jwks.json", responses=problems(404))
async def key_set(gateway: GatewayDependency) -> dict[str, Any]:
    """The local issuer's public key (JWKS), for anyone who verifies its tokens; 404 with an identity provider."""
    if gateway.jwks is None:
        raise FieldProblem("path", "the gateway issues no tokens: see the identity provider's key set", status_code=404)
    return gateway.jwks


AUTH_ROUTES = [issue_token, key_set]
