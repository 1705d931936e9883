"""The front door: every public API call is authenticated, checked against the access rules and forwarded.

Bodies stream both ways, except the two a customer's rules need to read (their order's body, an order they
read); the caller's request id and trace context go along, and the caller's identity as headers.
"""

from __future__ import annotations

import math
import re
import uuid
from typing import Any

from litestar import HttpMethod, Request, Response, route
from litestar.background_tasks import BackgroundTask
from litestar.response import Stream

from gateway import services
from gateway.domain.access import Check, Refusal, Route
from gateway.domain.access import route as decide
from gateway.domain.principals import Principal
from gateway.entrypoints.context import Gateway, GatewayDependency
from gateway.entrypoints.session import authenticate, cross_site, to_login
from gateway.ports import InvalidToken, UpstreamFailed, UpstreamRequest, UpstreamResponse
from plumbing.http import problem
from plumbing.tracing import calling, inject

METHODS: list[HttpMethod] = [
    HttpMethod.GET,
    HttpMethod.OPTIONS,
    HttpMethod.POST,
    HttpMethod.PUT,
    HttpMethod.PATCH,
    HttpMethod.DELETE,
]
REQUEST_ID = "x-request-id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_NOT_FORWARDED = frozenset(
    {"authorization", "cookie", "traceparent", "tracestate", REQUEST_ID, "content-length", "x-forwarded-for"}
    | {"x-authenticated-subject", "x-authenticated-role", "x-operator", "connection", "keep-alive", "te", "trailer"}
    | {"upgrade"}
    | {"transfer-encoding", "host", "proxy-authorization"}
)
_TITLES = {401: "Unauthorized", 403: "Forbidden", 404: "Not found"}
_DETAILS = {
    Refusal.NOT_FOUND: "no such resource",
    Refusal.UNAUTHENTICATED: "this needs a token: `Authorization: Bearer <token>` (POST /auth/token)",
    Refusal.FORBIDDEN: "your role may not do this",
}


@route(["/api/{rest:path}", "/dashboard", "/dashboard/{rest:path}"], http_method=METHODS, include_in_schema=False)
async def forward(request: Request[Any, Any, Any], gateway: GatewayDependency) -> Response[Any]:
    """Authenticate, decide, forward (see the module's docstring and ``gateway.domain.access``)."""
    request_id = request.headers.get(REQUEST_ID, "")
    request_id = request_id if _REQUEST_ID.fullmatch(request_id) else uuid.uuid4().hex
    answer = await _answer(request, gateway, request_id)
    answer.headers["X-Request-Id"] = request_id
    return answer


async def _answer(request: Request[Any, Any, Any], gateway: Gateway, request_id: str) -> Response[Any]:
    try:
        session = await authenticate(gateway, request)
    except InvalidToken as error:
        if (page := to_login(request, expired=True)) is not None:
            return page
        bearer = f'Bearer error="invalid_token", error_description="{_quoted(str(error))}"'
        return problem(401, "Unauthorized", str(error), headers={"WWW-Authenticate": bearer})
    if (refused := cross_site(request, session)) is not None:
        return refused
    caller = session.principal
    decision = decide(request.method, request.scope["path"], caller)
    if decision is Refusal.UNAUTHENTICATED and (page := to_login(request, expired=False)) is not None:
        return page
    if isinstance(decision, Refusal):
        headers = {"WWW-Authenticate": "Bearer"} if decision is Refusal.UNAUTHENTICATED else None
        return problem(decision.value, _TITLES[decision.value], _DETAILS[decision], headers=headers)
    if decision.rule.rate_limited and decision.check is not Check.NONE and caller is not None:
        wait = gateway.order_buckets.take(caller.subject, gateway.monotonic())
        if wait > 0:
            detail = "too many orders: try again in a moment"
            return problem(429, "Too many requests", detail, headers={"Retry-After": str(math.ceil(wait))})
    query = request.scope.get("query_string", b"")
    try:
        body: Any = await _body(request, decision, caller)
        if decision.check is Check.OWN_LIST and caller is not None:
            query = services.own_orders_query(query, caller)
    except services.NotYours as error:
        return problem(
            403, "Forbidden", f"{error.field}: {error.message}", [{"field": error.field, "message": error.message}]
        )
    outgoing = UpstreamRequest(
        decision.service,
        request.method,
        decision.upstream_path,
        query,
        _headers(request, caller, request_id),
        body,
    )
    try:
        with calling(f"{request.method} {decision.service}", {"http.request.method": request.method}):
            upstream = await gateway.upstreams.send(_traced(outgoing))
    except UpstreamFailed as error:
        return _failed(error, request.method)
    if decision.check is Check.OWN_ORDER and caller is not None:
        return await _own_order(upstream, caller, decision.upstream_path)
    return _streamed(upstream)


async def _body(request: Request[Any, Any, Any], decision: Route, caller: Principal | None) -> Any:
    if decision.check is Check.OWN_BODY and caller is not None:
        return services.own_order_body(await request.body(), caller)
    if request.method == "GET":
        return b""
    return request.stream()


def _headers(request: Request[Any, Any, Any], caller: Principal | None, request_id: str) -> dict[str, str]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
    headers["X-Request-Id"] = request_id
    if request.client is not None:
        headers["X-Forwarded-For"] = request.client.host
    if caller is not None:
        headers["X-Authenticated-Subject"] = caller.subject
        headers["X-Authenticated-Role"] = caller.role.value if caller.role else ""
    return headers


def _traced(outgoing: UpstreamRequest) -> UpstreamRequest:
    """The request with the current (client) span's trace context."""
    headers = inject(dict(outgoing.headers))
    return UpstreamRequest(outgoing.service, outgoing.method, outgoing.path, outgoing.query, headers, outgoing.body)


def _failed(error: UpstreamFailed, method: str) -> Response[Any]:
    detail = str(error)
    if error.status == 504 and method != "GET":
        detail += "; the change may or may not have been made: retry the same request (with its Idempotency-Key)"
    titles = {502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout"}
    headers = {"Retry-After": "1"} if error.status == 503 else None
    return problem(error.status, titles[error.status], detail, headers=headers)


async def _own_order(upstream: UpstreamResponse, caller: Principal, path: str) -> Response[Any]:
    try:
        body = await upstream.read()
    finally:
        await upstream.close()
    if upstream.status == 200 and not services.owns_order(body, caller):
        order_id = path.rsplit("/", 1)[-1]
        return problem(404, f"no order {order_id!r}", f"no order {order_id!r}")
    return Response(body, status_code=upstream.status, headers=_answer_headers(upstream), media_type=_type(upstream))


def _streamed(upstream: UpstreamResponse) -> Response[Any]:
    return Stream(
        upstream.body,
        status_code=upstream.status,
        headers=_answer_headers(upstream),
        media_type=_type(upstream),
        background=BackgroundTask(upstream.close),
    )


def _answer_headers(upstream: UpstreamResponse) -> dict[str, str]:
    """The upstream's headers but those of its own connection (its ``content-type`` wins over ``media_type``)."""
    return {k: v for k, v in upstream.headers if k.lower() not in ("content-length", "server", "date")}


def _type(upstream: UpstreamResponse) -> str:
    return next((v for k, v in upstream.headers if k.lower() == "content-type"), "application/octet-stream")


def _quoted(text: str) -> str:
    return text.replace("\\", "").replace('"', "'")
