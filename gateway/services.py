"""The gateway's use cases: log in, know the caller, keep customers to their own orders, seed or remove the demo
logins."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from gateway.domain.principals import Principal, Role
from gateway.domain.users import User
from gateway.ports import InvalidToken, IssuedToken, Passwords, TokenIssuer, TokenVerifier, Users
from plumbing.demo_logins import DEMO_LOGINS

_NOBODY_HASH: dict[int, str] = {}


class BadCredentials(Exception):
    """No user has that name and password (which of the two is wrong is not said)."""


class NotYours(Exception):
    """A customer's order names another customer (``field`` is where)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def log_in(users: Users, passwords: Passwords, issuer: TokenIssuer, username: str, password: str) -> IssuedToken:
    """An access token for the user ``username`` if ``password`` is theirs; ``BadCredentials`` otherwise.

    An unknown name costs one hash verification too, so the answer's timing does not tell which names exist.
    """
    user = users.find(username)
    if user is None:
        passwords.verify(_nobody(passwords), password)
        raise BadCredentials
    if not passwords.verify(user.password_hash, password):
        raise BadCredentials
    return issuer.issue(user.username, user.role)


def _nobody(passwords: Passwords) -> str:
    key = id(passwords)
    if key not in _NOBODY_HASH:
        _NOBODY_HASH[key] = passwords.hash("no user has this password")
    return _NOBODY_HASH[key]


def caller(verifier: TokenVerifier, authorization: str | None) -> Principal | None:
    """The caller an ``Authorization: Bearer <token>`` header names; None without the header;
    ``InvalidToken`` for any other scheme or a token that does not verify."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("expected `Authorization: Bearer <token>`")
    return verifier.verify(token.strip())


def own_order_body(body: bytes, customer: Principal) -> bytes:
    """The body of a customer's ``POST /api/orders`` with their own ``customer_id``.

    A body without ``customer_id`` gets theirs; one naming another customer is refused (``NotYours``), so a
    client bug is seen rather than silently redirected. Re-encoded, so duplicate keys cannot smuggle another
    customer past the check. A body that is not a JSON object goes on as it is: orders refuses it with 400.
    """
    try:
        order: Any = json.loads(body)
    except ValueError:
        return body
    if not isinstance(order, dict):
        return body
    named = order.get("customer_id", customer.subject)
    if named != customer.subject:
        raise NotYours("customer_id", "must be your own customer id (or left out: it is taken from your token)")
    order["customer_id"] = customer.subject
    return json.dumps(order, separators=(",", ":")).encode()


def own_orders_query(query: bytes, customer: Principal) -> bytes:
    """The query of a customer's ``GET /api/orders`` listing their own orders: a ``customer_id`` naming another
    customer is refused (``NotYours``); absent, it is set to theirs."""
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    if any(name == "customer_id" and value != customer.subject for name, value in pairs):
        raise NotYours("customer_id", "must be your own customer id (or left out: it is taken from your token)")
    kept = [(name, value) for name, value in pairs if name != "customer_id"]
    return urlencode([*kept, ("customer_id", customer.subject)]).encode()


def owns_order(order_body: bytes, customer: Principal) -> bool:
    """Whether the order orders answered with belongs to ``customer``."""
    try:
        order: Any = json.loads(order_body)
    except ValueError:
        return False
    return isinstance(order, dict) and order.get("customer_id") == customer.subject


def seed_demo_logins(users: Users, passwords: Passwords) -> list[str]:
    """Add the demo logins that are missing (an existing user keeps their password); their names."""
    added = []
    for login in DEMO_LOGINS:
        if users.find(login.username) is None and users.add_if_missing(
            User(login.username, passwords.hash(login.password), Role(login.role))
        ):
            added.append(login.username)
    return added


def remove_demo_logins(users: Users) -> list[str]:
    """Remove the demo logins that exist (their passwords are public: they must not outlive the switch that
    made them); their names."""
    return [login.username for login in DEMO_LOGINS if users.remove(login.username)]
