"""Payment's first tables: payments, outbox, inbox.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from plumbing.migrations import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("order_id", sa.Text, primary_key=True),
        sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("payment_method", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("intent_id", sa.Text, nullable=True),
        sa.Column("decline_reason", sa.Text, nullable=True),
        sa.Column("decline_code", sa.Text, nullable=True),
        sa.Column("refund_id", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    create_messaging_tables()


def downgrade() -> None:
    for table in ("inbox", "outbox", "payments"):
        op.drop_table(table)
