"""The gateway's routing and access rules: which public path goes to which service, and who may call it.

Read top to bottom: the first rule whose method and path match decides. Anonymous callers may browse the
catalogue; customers may also place orders for themselves and read their own orders; operators may do everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from gateway.domain.principals import Principal, Role

READS = frozenset({"GET", "OPTIONS"})
"""OPTIONS goes where GET goes: the service answers it with what it allows (not Litestar with the proxy's methods)."""
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EVERY = READS | WRITES


class Check(Enum):
    """What a customer's call needs beyond its role (operators skip these)."""

    NONE = "none"
    OWN_BODY = "own_body"
    """The order placed is the caller's: the body's ``customer_id`` is theirs or absent (then set to theirs)."""
    OWN_ORDER = "own_order"
    """The order read is the caller's; someone else's is answered as not found."""
    OWN_LIST = "own_list"
    """The orders listed are the caller's: the query's ``customer_id`` is theirs or absent (then set to theirs)."""


@dataclass(frozen=True)
class Rule:
    """Calls with one of ``methods`` to a path matching ``pattern`` go to ``service``, as ``upstream_prefix``
    + what follows ``public_prefix``; ``anonymous`` and ``customer`` say who besides operators may call."""

    methods: frozenset[str]
    public_prefix: str
    pattern: re.Pattern[str]
    service: str
    upstream_prefix: str
    anonymous: bool = False
    customer: Check | None = None
    rate_limited: bool = False


def _rule(
    methods: frozenset[str],
    prefix: str,
    tail: str,
    service: str,
    upstream: str,
    *,
    anonymous: bool = False,
    customer: Check | None = None,
    rate_limited: bool = False,
) -> Rule:
    pattern = re.compile(re.escape(prefix) + tail)
    return Rule(methods, prefix, pattern, service, upstream, anonymous, customer, rate_limited)


_SEGMENT = r"/[A-Za-z0-9._~%-]{1,64}"
_ANY_TAIL = r"(/.*)?"
_ROOT = r"/?"

RULES: tuple[Rule, ...] = (
    _rule(READS, "/api/products", _ROOT, "catalog", "/products", anonymous=True, customer=Check.NONE),
    _rule(READS, "/api/products", _SEGMENT, "catalog", "/products", anonymous=True, customer=Check.NONE),
    _rule(EVERY, "/api/products", _ANY_TAIL, "catalog", "/products"),
    _rule(EVERY, "/api/stock-adjustments", _ANY_TAIL, "catalog", "/stock-adjustments"),
    _rule(frozenset({"POST"}), "/api/orders", _ROOT, "orders", "/orders", customer=Check.OWN_BODY, rate_limited=True),
    _rule(READS, "/api/orders", _ROOT, "orders", "/orders", customer=Check.OWN_LIST),
    _rule(READS, "/api/orders", _SEGMENT, "orders", "/orders", customer=Check.OWN_ORDER),
    _rule(EVERY, "/api/orders", _ANY_TAIL, "orders", "/orders"),
    _rule(EVERY, "/api/sagas", _ANY_TAIL, "coordinator", "/sagas"),
    _rule(EVERY, "/api/dead-letters", _ANY_TAIL, "coordinator", "/dead-letters"),
    _rule(EVERY, "/api/payments", _ANY_TAIL, "payment", "/payments"),
    _rule(EVERY, "/dashboard", _ANY_TAIL, "coordinator", "/dashboard"),
)
"""The public API; any other path is not found."""


@dataclass(frozen=True)
class Route:
    """Where an allowed call goes (``upstream_path``), and what must still be checked for a customer."""

    rule: Rule
    upstream_path: str
    check: Check

    @property
    def service(self) -> str:
        """The service the call goes to."""
        return self.rule.service


class Refusal(Enum):
    """Why a call is refused, by HTTP status."""

    NOT_FOUND = 404
    UNAUTHENTICATED = 401
    FORBIDDEN = 403


def route(method: str, path: str, caller: Principal | None) -> Route | Refusal:
    """Where ``method path`` goes for ``caller`` (None: no token), or why it is refused.

    An unknown path is not found for everyone; a known one without a token, where one is needed, is 401; a
    caller whose role does not allow it gets 403.
    """
    if any(segment in (".", "..") for segment in path.split("/")):
        return Refusal.NOT_FOUND  # no walking out of a prefix (the upstream would resolve the dots)
    matching = [rule for rule in RULES if method in rule.methods and rule.pattern.fullmatch(path)]
    if not matching:
        return Refusal.NOT_FOUND
    rule = matching[0]
    upstream = rule.upstream_prefix + path.removeprefix(rule.public_prefix)
    if caller is None:
        return Route(rule, upstream, Check.NONE) if rule.anonymous else Refusal.UNAUTHENTICATED
    if caller.role is Role.OPERATOR:
        return Route(rule, upstream, Check.NONE)
    if caller.role is Role.CUSTOMER and rule.customer is not None:
        return Route(rule, upstream, rule.customer)
    return Refusal.FORBIDDEN
