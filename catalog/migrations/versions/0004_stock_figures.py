"""Stock figures: units on hand and reserved, available computed from them, and the record of adjustments.

``stock`` keeps its name and meaning (units available to order) but becomes a column PostgreSQL computes as
``on_hand - reserved``. The backfill counts the units every held reservation (status ``RESERVED``, approved
orders' included) still holds: they become ``reserved`` and are added to ``on_hand``, so each product's
available count is exactly its stock before the migration.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_HELD_UNITS = """
    SELECT line ->> 0 AS sku, sum((line ->> 1)::integer) AS units
    FROM reservations, jsonb_array_elements(lines) AS line
    WHERE status = 'RESERVED'
    GROUP BY line ->> 0
"""


def upgrade() -> None:
    op.execute("LOCK TABLE products, reservations IN SHARE ROW EXCLUSIVE MODE")
    op.add_column("products", sa.Column("on_hand", sa.Integer, nullable=True))
    op.add_column("products", sa.Column("reserved", sa.Integer, nullable=False, server_default="0"))
    op.execute("UPDATE products SET on_hand = stock")
    op.execute(
        f"UPDATE products AS p SET reserved = held.units, on_hand = p.stock + held.units "
        f"FROM ({_HELD_UNITS}) AS held WHERE p.sku = held.sku"
    )
    op.alter_column("products", "on_hand", nullable=False)
    op.alter_column("products", "reserved", server_default=None)
    op.drop_column("products", "stock")  # and its check; PostgreSQL 15 cannot turn a column into a computed one
    op.add_column(
        "products", sa.Column("stock", sa.Integer, sa.Computed("on_hand - reserved", persisted=True), nullable=False)
    )
    op.create_check_constraint("reserved_never_negative", "products", "reserved >= 0")
    op.create_check_constraint("stock_never_negative", "products", "stock >= 0")
    op.create_table(
        "stock_adjustments",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("sku", sa.Text, sa.ForeignKey("products.sku"), nullable=False),
        sa.Column("delta", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("on_hand_after", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("stock_adjustments_by_sku", "stock_adjustments", ["sku", "id"])


def downgrade() -> None:
    op.drop_table("stock_adjustments")
    op.add_column("products", sa.Column("available", sa.Integer, nullable=True))
    op.execute("UPDATE products SET available = stock")
    op.drop_column("products", "stock")
    op.alter_column("products", "available", new_column_name="stock", nullable=False)
    op.create_check_constraint("stock_never_negative", "products", "stock >= 0")
    op.drop_column("products", "reserved")
    op.drop_column("products", "on_hand")
