"""Catalog's first tables: products, reservations, outbox, inbox.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from plumbing.migrations import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("sku", sa.Text, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("release_year", sa.Integer, nullable=False),
        sa.Column("price_cents", sa.Integer, nullable=False),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.CheckConstraint("stock >= 0", name="stock_never_negative"),
    )
    op.create_table(
        "reservations",
        sa.Column("order_id", sa.Text, primary_key=True),
        sa.Column("saga_id", UUID(as_uuid=True), nullable=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("lines", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    create_messaging_tables()


def downgrade() -> None:
    for table in ("inbox", "outbox", "reservations", "products"):
        op.drop_table(table)
