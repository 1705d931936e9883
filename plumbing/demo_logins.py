"""The logins the local stack's gateway is seeded with, for people trying it out and for scripts.

Read by the gateway (which seeds them with ``RV_GATEWAY_DEMO_USERS=true``, and removes them without it) and by
``retrovault auth token``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoLogin:
    """A username, its password and its role (``customer`` or ``operator``)."""

    username: str
    password: str
    role: str


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("demo-customer", "retro-customer", "customer"),
    DemoLogin("demo-customer-2", "retro-customer-2", "customer"),
    DemoLogin("demo-operator", "retro-operator", "operator"),
)


def demo_login(role: str) -> DemoLogin:
    """The first demo login with ``role``; ``KeyError`` for a role none has."""
    for login in DEMO_LOGINS:
        if login.role == role:
            return login
    raise KeyError(role)
