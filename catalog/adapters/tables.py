"""Catalog's tables (SQLAlchemy Core); the migrations under catalog/migrations create them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from plumbing.db import messaging_tables

metadata = sa.MetaData()

products = sa.Table(
    "products",
    metadata,
    sa.Column("sku", sa.Text, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("release_year", sa.Integer, nullable=False),
    sa.Column("price_cents", sa.Integer, nullable=False),
    sa.Column("on_hand", sa.Integer, nullable=False),
    sa.Column("reserved", sa.Integer, nullable=False),
    # Units available to order, named as the API and ProductChanged name them; PostgreSQL computes it.
    sa.Column("stock", sa.Integer, sa.Computed("on_hand - reserved", persisted=True), nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.CheckConstraint("reserved >= 0", name="reserved_never_negative"),
    sa.CheckConstraint("stock >= 0", name="stock_never_negative"),
)

reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("order_id", sa.Text, primary_key=True),
    sa.Column("saga_id", UUID(as_uuid=True), nullable=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("lines", JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

stock_adjustments = sa.Table(
    "stock_adjustments",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("sku", sa.Text, sa.ForeignKey("products.sku"), nullable=False),
    sa.Column("delta", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("on_hand_after", sa.Integer, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("adjusted_by", sa.Text, nullable=True),  # who made it (null: before this was recorded)
    sa.Index("stock_adjustments_by_sku", "sku", "id"),
)

outbox, inbox = messaging_tables(metadata)
