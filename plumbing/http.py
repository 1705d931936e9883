"""HTTP edges every service shares: RFC 9457 problem+json errors, health, and the server runner."""

from __future__ import annotations

import re
from typing import Any

import uvicorn
from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from plumbing.settings import ServiceSettings

PROBLEM_JSON = "application/problem+json"
MAX_BODY_BYTES = 64 * 1024
_NAMED_FIELD = re.compile(r"field `([^`]+)`")


class FieldProblem(HTTPException):
    """A request that is well-formed but wrong in one field (e.g. an unknown sku): answered 422."""

    status_code = 422

    def __init__(self, field: str, message: str, *, status_code: int = 422) -> None:
        super().__init__(detail=f"{field}: {message}", status_code=status_code)
        self.field = field
        self.message = message


def problem(status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None) -> Response[Any]:
    """An RFC 9457 problem details response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_JSON)


def _field_errors(exc: ValidationException) -> list[dict[str, str]]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        message = str(item.get("message", "invalid"))
        key = str(item.get("key", ""))
        named = _NAMED_FIELD.search(message)
        if key in ("", "data") and named:
            key = named.group(1)
        errors.append({"field": key or "body", "message": message})
    return errors


def _on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, FieldProblem):
        return problem(exc.status_code, "Invalid field", exc.detail, [{"field": exc.field, "message": exc.message}])
    if isinstance(exc, ValidationException):
        errors = _field_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or exc.detail
        if not errors:  # litestar reports undecodable JSON as a bare validation error
            errors = [{"field": "body", "message": exc.detail}]
            detail = f"body: {exc.detail}"
        return problem(exc.status_code, "Invalid request", detail, errors)
    return problem(exc.status_code, str(exc.detail), str(exc.detail))


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    request.logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "Internal error", "the server could not handle the request")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    HTTPException: _on_http_exception,
    Exception: _on_unexpected,
}


def serve(app: Litestar, settings: ServiceSettings) -> None:
    """Run the HTTP server until SIGTERM/SIGINT; the app's lifespan starts and stops the workers."""
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
