"""The people who may log in: a name, a password hash (never the password) and a role."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain.principals import Role


@dataclass(frozen=True)
class User:
    """A login: ``username`` is also the subject of their tokens and, for a customer, their ``customer_id``."""

    username: str
    password_hash: str
    role: Role


@dataclass(frozen=True)
class DemoLogin:
    """A login the local stack is seeded with (documented in the README; off with ``RV_GATEWAY_DEMO_USERS=false``)."""

    username: str
    password: str
    role: Role


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("demo-customer", "retro-customer", Role.CUSTOMER),
    DemoLogin("demo-customer-2", "retro-customer-2", Role.CUSTOMER),
    DemoLogin("demo-operator", "retro-operator", Role.OPERATOR),
)
