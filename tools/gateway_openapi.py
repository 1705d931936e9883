"""The gateway's OpenAPI document: its own routes, plus every service operation its access rules route.

Composed from the services' committed documents (``docs/openapi/<service>.json``) and the access table
(``gateway.domain.access``): an operation is public when a rule maps a public path onto it; it appears under that
path with the bearer-token scheme, the role it needs (``x-required-role`` and its description) and the answers
the gateway itself gives (401, 403, 429, 502, 503, 504 as problem+json). A route added to a service or to the
access table shows up here by itself.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from typing import Any

from gateway.domain.access import RULES, Check, Route, route
from gateway.domain.principals import Principal, Role

METHODS = ("get", "put", "post", "delete", "patch")
BEARER = "bearer"
_PARAMETER = re.compile(r"\{[^}/]+\}")
_REF = "#/components/schemas/"
_SET_BY_GATEWAY = frozenset({"x-authenticated-subject", "x-authenticated-role", "x-operator"})
"""Headers the gateway sets from the token or drops (a caller's own copies never pass): not the caller's
parameters."""
CUSTOMER_FIELD = "customer_id"
"""Names the customer in an order's body and in a list's query: a customer's own, set by the gateway if left out."""
_SAMPLE = "x"
"""Stands for a path parameter when asking the access rules about a path: any one segment."""

_WHO = {
    "anonymous": "anyone, with or without a token (a token that is sent must be valid)",
    "customer": "customers and operators",
    "operator": "operators only",
}
_CUSTOMER_CHECKS = {
    Check.NONE: "",
    Check.OWN_BODY: " A customer orders for themselves: the body's `customer_id` is theirs or left out (then it "
    "is set from the token); naming someone else is a 403 naming `customer_id`.",
    Check.OWN_ORDER: " A customer reads only their own; someone else's is answered as not found (404).",
    Check.OWN_LIST: " A customer lists only their own: `customer_id` is theirs or left out (then it is set from "
    "the token); naming someone else is a 403 naming `customer_id`.",
}
_GATEWAY_ANSWERS = {
    "401": "No valid token: it is missing where one is needed (`WWW-Authenticate: Bearer`), or it is expired, "
    'malformed, badly signed or for another issuer or audience (`error="invalid_token"` with the reason).',
    "403": "The token is valid but its role may not do this.",
    "404": "There is no such resource (also: a path with a `.` or `..` segment, or a parameter that is not one "
    "path segment of at most 64 of `[A-Za-z0-9._~%-]`).",
    "429": "Too many orders from this customer: try again after `Retry-After` seconds.",
    "502": "The service behind the gateway broke off its answer.",
    "503": "The service behind the gateway, or its database, is unavailable: retry after `Retry-After` seconds.",
    "504": "The service behind the gateway did not answer in time; a change may or may not have been made: retry "
    "the same request (with its `Idempotency-Key`).",
}


def compose(own: dict[str, Any], services: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The gateway's document: ``own`` (its own routes, as Litestar generates them) plus the routed operations
    of ``services`` (service name to its OpenAPI document)."""
    document = copy.deepcopy(own)
    paths: dict[str, Any] = document.setdefault("paths", {})
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for service, service_document in services.items():
        for path, method, operation in _operations(service_document):
            public = _public(service, method, path)
            if public is None:
                continue
            public_path, decision = public
            guarded = _guarded(operation, public_path, decision, service_document["components"]["schemas"])
            paths.setdefault(public_path, {})[method] = guarded
            for name in sorted(_referenced(guarded, service_document)):
                _merge(schemas, name, service_document["components"]["schemas"][name], service)
    document["components"]["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A token from `POST /auth/token` (or the identity provider).",
        }
    }
    ids = [op["operationId"] for ops in paths.values() for m, op in ops.items() if m in METHODS]
    if duplicated := sorted({i for i in ids if ids.count(i) > 1}):
        raise ValueError(f"operation ids used twice in the gateway's document: {duplicated}")
    document["paths"] = dict(sorted(paths.items()))
    return document


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _public(service: str, method: str, path: str) -> tuple[str, Route] | None:
    """The public path that reaches ``method path`` of ``service`` (and the operator's decision), if any rule does."""
    concrete = _PARAMETER.sub(_SAMPLE, path)
    operator = Principal(_SAMPLE, Role.OPERATOR)
    for rule in RULES:
        prefix = rule.upstream_prefix
        if rule.service != service or not (path == prefix or path.startswith(prefix + "/")):
            continue
        public_path = rule.public_prefix + path.removeprefix(prefix)
        decision = route(method.upper(), _PARAMETER.sub(_SAMPLE, public_path), operator)
        if isinstance(decision, Route) and (decision.service, decision.upstream_path) == (service, concrete):
            return public_path, decision
    return None


def _guarded(operation: dict[str, Any], public_path: str, decision: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    """The service's operation as the gateway answers it: who may call, the token, the gateway's own errors."""
    guarded = copy.deepcopy(operation)
    parameters = [p for p in guarded.get("parameters", []) if p["name"].lower() not in _SET_BY_GATEWAY]
    if "parameters" in guarded:
        guarded["parameters"] = parameters
    role, check = _role(decision), decision.rule.customer
    guarded["x-required-role"] = role
    who = f"**Who may call**: {_WHO[role]}." + (_CUSTOMER_CHECKS[check] if role == "customer" and check else "")
    if decision.rule.rate_limited:
        who += " Orders are rate-limited per customer (429 with `Retry-After`); operators are not limited."
    guarded["description"] = f"{guarded['description']}\n\n{who}" if guarded.get("description") else who
    guarded["security"] = [{}, {BEARER: []}] if role == "anonymous" else [{BEARER: []}]
    if role == "customer" and check in (Check.OWN_BODY, Check.OWN_LIST):
        _customer_id_optional(guarded, schemas)
    responses = guarded.setdefault("responses", {})
    codes = ["401", "403", "502", "503", "504"]
    codes += ["429"] if decision.rule.rate_limited else []
    codes += ["404"] if _PARAMETER.search(public_path) else []
    for code in codes:
        gateway_says = _GATEWAY_ANSWERS[code]
        if code in responses:
            responses[code]["description"] = f"{gateway_says} From the service: {responses[code]['description']}"
        else:
            responses[code] = _problem(gateway_says)
    guarded["responses"] = dict(sorted(responses.items()))
    return guarded


def _role(decision: Route) -> str:
    """The least role ``decision``'s rule lets through: ``anonymous``, ``customer`` or ``operator``."""
    if decision.rule.anonymous:
        return "anonymous"
    return "customer" if decision.rule.customer is not None else "operator"


def _customer_id_optional(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A customer may leave ``customer_id`` out (query or body): the gateway sets it from the token."""
    note = "A customer may leave it out: the gateway sets it from the token. An operator names the customer."
    for parameter in operation.get("parameters", []):
        if (parameter["name"], parameter["in"]) == (CUSTOMER_FIELD, "query"):
            parameter.update(required=False, description=note)
    for media in operation.get("requestBody", {}).get("content", {}).values():
        schema = media.get("schema", {})
        if "$ref" in schema:  # inlined: the service's own schema stays as it is
            schema = copy.deepcopy(schemas[schema["$ref"].removeprefix(_REF)])
        if CUSTOMER_FIELD in schema.get("properties", {}):
            schema["required"] = [name for name in schema.get("required", []) if name != CUSTOMER_FIELD]
            schema["properties"][CUSTOMER_FIELD] = {**schema["properties"][CUSTOMER_FIELD], "description": note}
            media["schema"] = schema


def _problem(description: str) -> dict[str, Any]:
    schema = {"$ref": _REF + "ProblemDetails"}
    return {"description": description, "content": {"application/problem+json": {"schema": schema}}}


def _referenced(node: Any, document: dict[str, Any]) -> set[str]:
    """The component schemas ``node`` refers to, directly or through other schemas."""
    found: set[str] = set()
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF) and (name := ref.removeprefix(_REF)) not in found:
                found.add(name)
                pending.append(document["components"]["schemas"][name])
            pending.extend(v for k, v in current.items() if k != "$ref")
        elif isinstance(current, list):
            pending.extend(current)
    return found | {"ProblemDetails", "FieldError"}


def _merge(schemas: dict[str, Any], name: str, schema: dict[str, Any], service: str) -> None:
    if name in schemas and schemas[name] != schema:
        raise ValueError(f"{service}'s schema {name!r} differs from another service's: rename one of them")
    schemas[name] = schema
