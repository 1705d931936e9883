"""Payment's tables (SQLAlchemy Core); the migrations under payment/migrations create them."""

from __future__ import annotations

import sqlalchemy as sa

from plumbing.db import messaging_tables

metadata = sa.MetaData()

payments = sa.Table(
    "payments",
    metadata,
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
    sa.Column("charge_command", sa.LargeBinary, nullable=True),
    sa.Column("refund_command", sa.LargeBinary, nullable=True),
    sa.Column("charge_trace", sa.Text, nullable=True),
    sa.Column("refund_trace", sa.Text, nullable=True),
    sa.Column("claimed_by", sa.Text, nullable=True),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

outbox, inbox = messaging_tables(metadata)
