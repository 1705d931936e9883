"""The ``outbox_parked`` table as first shipped (created by every service's ``outbox_parked`` migration)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB


def create_parked_table() -> None:
    """Create ``outbox_parked``: an outbox row's columns plus when, why and after how many attempts it was parked."""
    op.create_table(
        "outbox_parked",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("headers", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
    )


def drop_parked_table() -> None:
    """Drop ``outbox_parked`` (its rows are lost: retry or discard them first)."""
    op.drop_table("outbox_parked")
