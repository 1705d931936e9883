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
