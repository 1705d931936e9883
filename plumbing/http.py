"""HTTP edges every service shares: RFC 9457 problem+json errors, health, and the server runner."""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any, TypeVar

import msgspec
import sqlalchemy as sa
import uvicorn
from litestar import Litestar, Request, Response
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Schema
from litestar.params import Parameter
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from contracts.base import NUL_FREE
from plumbing.db import is_transient
from plumbing.errors import NotFound
from plumbing.settings import ServiceSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
PROBLEM_JSON = "application/problem+json"
MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
"""Our bodies nest three levels deep; deeper ones are refused before anything recursive walks them."""
NUL_REFUSED = "must not contain a NUL character (\\u0000)"

Identifier = Annotated[str, Parameter(max_length=64, pattern=NUL_FREE)]
"""A path or query parameter naming one thing (an order id, a dead letter): at most 64 characters, no NUL."""
_NAMED_FIELD = re.compile(r"field `([^`]+)`")


class FieldProblem(HTTPException):
    """A request that is well-formed but wrong in one field (e.g. an unknown sku): answered 422."""

    status_code = 422

    def __init__(self, field: str, message: str, *, status_code: int = 422) -> None:
        super().__init__(detail=f"{field}: {message}", status_code=status_code)
        self.field = field
        self.message = message


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """Documents a body struct with ``forbid_unknown_fields`` as ``additionalProperties: false``.

    Litestar's own struct plugin leaves that out, so the OpenAPI document promised to accept fields the
    API rejects (found by schemathesis).
    """

    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Schema:
        """The struct's schema, closed to unknown fields when the struct forbids them."""
        schema = super().to_openapi_schema(field_definition, schema_creator)
        if field_definition.type_.__struct_config__.forbid_unknown_fields:
            schema.additional_properties = False
        return schema


class FieldError(msgspec.Struct, frozen=True):
    """Which field of the request was wrong, and how."""

    field: str
    message: str


class ProblemDetails(msgspec.Struct, frozen=True, omit_defaults=True):
    """The body of every error response (RFC 9457, ``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


_PROBLEMS = {
    400: "The request is malformed: a parameter or body field is missing, mistyped, out of range, too long or holds "
    "a NUL character, or the body is not JSON (named in `errors`).",
    401: "No valid token: it is missing, expired, malformed, for another audience or issuer, or badly signed "
    "(`WWW-Authenticate` says which), or the login was wrong.",
    403: "The token is valid but its role may not do this.",
    404: "There is no such resource.",
    409: "The resource is in a state that does not allow this.",
    412: "`If-Match` does not name the resource's current revision: it changed since it was read. Read it again.",
    422: "The request is well-formed but a field's value is not acceptable (named in `errors`).",
    428: "`If-Match` is missing: the change must name the revision of the resource it was decided on.",
    503: "The database did not answer. A read changed nothing; a change may or may not have been made (its "
    "acknowledgement may be what was lost): retry the same request, with the same `Idempotency-Key` where the "
    "route takes one, after `Retry-After` seconds.",
}


def problems(*status_codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem+json errors a route can answer: always 400 and 503, plus ``status_codes``."""
    return {
        code: ResponseSpec(
            data_container=ProblemDetails, media_type=PROBLEM_JSON, description=_PROBLEMS[code], generate_examples=False
        )
        for code in sorted({400, 503, *status_codes})
    }


_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")


def decode_strictly(raw: bytes, into: type[T]) -> T:
    """Decode a JSON body with no type coercion ("2" is not a number, 2.5 is not an integer); errors name the field.

    Litestar's own body parsing coerces types, so bodies that must be exact are decoded here.
    """
    try:
        return msgspec.convert(_integral_floats_as_ints(decode_json(raw)), type=into, strict=True)
    except msgspec.ValidationError as error:
        raise FieldProblem(_field_of(str(error)), str(error), status_code=400) from error


def decode_json(raw: bytes) -> Any:
    """A JSON body as Python values, or a 400 ``FieldProblem`` naming what no handler or column could take.

    Refused: malformed JSON or UTF-8, numbers out of range, nesting deeper than ``MAX_JSON_DEPTH``, and a NUL
    character in any string or key (named by its path, e.g. ``items[0].sku``).
    """
    try:
        value = msgspec.json.decode(raw)
    except msgspec.ValidationError as error:  # a number out of range, at a path msgspec elides ("$[...]")
        raise FieldProblem("body", str(error).split(" - at ")[0], status_code=400) from error
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise FieldProblem("body", f"malformed JSON: {error}", status_code=400) from error
    except RecursionError as error:  # msgspec's own limit, far deeper than ours
        raise FieldProblem("body", f"is nested deeper than {MAX_JSON_DEPTH} levels", status_code=400) from error
    _refuse_unstorable(value)
    return value


def _refuse_unstorable(value: Any) -> None:
    """Walk decoded JSON without recursion; raise on nesting deeper than ``MAX_JSON_DEPTH`` or a NUL character."""
    pending: list[tuple[str, Any, int]] = [("", value, 0)]
    while pending:
        path, item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise FieldProblem("body", f"is nested deeper than {MAX_JSON_DEPTH} levels", status_code=400)
        if isinstance(item, str) and "\x00" in item:
            raise FieldProblem(path or "body", NUL_REFUSED, status_code=400)
        if isinstance(item, list):
            pending.extend((f"{path}[{index}]", element, depth + 1) for index, element in enumerate(item))
        elif isinstance(item, dict):
            for key, element in item.items():
                name = f"{path}.{key}" if path else key
                if "\x00" in key:
                    raise FieldProblem(name, NUL_REFUSED, status_code=400)
                pending.append((name, element, depth + 1))


def _integral_floats_as_ints(value: Any) -> Any:
    """``2.0`` becomes ``2``: JSON Schema counts it as an integer, so an integer field must take it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    return value


def _field_of(message: str) -> str:
    """``$.items[0].quantity`` in msgspec's message, plus a named field (missing or unknown) if any."""
    at = _AT_PATH.search(message)
    path = at.group(1) if at else ""
    named = _NAMED_FIELD.search(message)
    if named:
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    return path or "body"


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    """An RFC 9457 problem details response."""
    body = ProblemDetails(
        type="about:blank",
        title=title,
        status=status,
        detail=detail,
        errors=[FieldError(**error) for error in errors] if errors else None,
    )
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


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
        title = "Invalid request" if exc.status_code == 400 else "Invalid field"
        return problem(exc.status_code, title, exc.detail, [{"field": exc.field, "message": exc.message}])
    if isinstance(exc, ValidationException):
        errors = _field_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or exc.detail
        if not errors:  # litestar reports undecodable JSON as a bare validation error
            errors = [{"field": "body", "message": exc.detail}]
            detail = f"body: {exc.detail}"
        return problem(exc.status_code, "Invalid request", detail, errors)
    if exc.status_code == 400:  # e.g. a body that is not JSON at all: the body is the field at fault
        return problem(400, "Invalid request", f"body: {exc.detail}", [{"field": "body", "message": str(exc.detail)}])
    # Keep the exception's headers: a 405 must say which methods are allowed (RFC 9110 `Allow`).
    return problem(exc.status_code, str(exc.detail), str(exc.detail), headers=exc.headers)


def _on_not_found(request: Request[Any, Any, Any], exc: NotFound) -> Response[Any]:
    return problem(404, str(exc), str(exc))


_IF_UNAVAILABLE = "if_unavailable"


def if_unavailable(consequence: str) -> dict[str, str]:
    """A route's ``opt``: what its 503 says may have happened when the database did not answer (e.g. "the
    order may have been created; retry with the same Idempotency-Key")."""
    return {_IF_UNAVAILABLE: consequence}


def _on_database_down(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """503 for a transient database error. A commit whose acknowledgement was lost may have happened: only a
    read can say that nothing was changed."""
    if not is_transient(exc):
        return _on_unexpected(request, exc)
    route = request.scope.get("route_handler")
    if request.method in ("GET", "HEAD", "OPTIONS"):
        consequence = "nothing was changed; retry later"
    else:
        default = "the change may or may not have been made; retry the same request"
        consequence = route.opt.get(_IF_UNAVAILABLE, default) if route is not None else default
    response = problem(503, "Service unavailable", f"the database did not answer: {consequence}")
    response.headers["Retry-After"] = "1"
    return response


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "Internal error", "the server could not handle the request")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    HTTPException: _on_http_exception,
    NotFound: _on_not_found,
    sa.exc.DBAPIError: _on_database_down,
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
