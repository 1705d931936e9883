"""Orders' tables (SQLAlchemy Core); the migrations under orders/migrations create them."""

from __future__ import annotations

import sqlalchemy as sa

from plumbing.db import messaging_tables

metadata = sa.MetaData()

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("order_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("total_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("payment_method", sa.Text, nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=True, unique=True),
    sa.Column("request_fingerprint", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Index("orders_by_customer", "customer_id", sa.desc("created_at"), sa.desc("order_id")),  # migration 0005
)

order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("order_id", sa.Text, sa.ForeignKey("orders.order_id"), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("sku", sa.Text, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_price_cents", sa.BigInteger, nullable=False),
)

product_view = sa.Table(
    "product_view",
    metadata,
    sa.Column("sku", sa.Text, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("price_cents", sa.BigInteger, nullable=False),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
)

outbox, inbox = messaging_tables(metadata)
