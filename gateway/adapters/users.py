"""The users table as the ``Users`` port."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from gateway.adapters.tables import users
from gateway.domain.principals import Role
from gateway.domain.users import User


class SqlUsers:
    """Users in the gateway's own database (each call its own short transaction)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def find(self, username: str) -> User | None:
        """The user called ``username``, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.username == username)).first()
        return None if row is None else User(row.username, row.password_hash, Role(row.role))

    def add_if_missing(self, user: User) -> bool:
        """Store ``user`` unless one with that name exists; True if it was added."""
        statement = (
            insert(users)
            .values(username=user.username, password_hash=user.password_hash, role=user.role.value)
            .on_conflict_do_nothing(index_elements=[users.c.username])
            .returning(users.c.username)  # the rowcount of this INSERT is -1 under psycopg 3
        )
        with self._engine.begin() as conn:
            return conn.execute(statement).first() is not None

    def remove(self, username: str) -> bool:
        """Delete the user called ``username``; True if there was one."""
        statement = sa.delete(users).where(users.c.username == username).returning(users.c.username)
        with self._engine.begin() as conn:
            return conn.execute(statement).first() is not None
