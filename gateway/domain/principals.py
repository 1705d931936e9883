"""Who is calling: a verified token's subject and role."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(Enum):
    """What a caller may do: a customer shops for themselves, an operator runs the system."""

    CUSTOMER = "customer"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Principal:
    """The caller a valid token names: ``subject`` is the user's name (a customer's orders carry it as
    ``customer_id``); ``role`` is None when the token names a role the gateway does not know."""

    subject: str
    role: Role | None

    @classmethod
    def of(cls, subject: str, role: str) -> Principal:
        """The principal for a token's ``sub`` and ``role`` claims."""
        known = {r.value: r for r in Role}
        return cls(subject, known.get(role))
