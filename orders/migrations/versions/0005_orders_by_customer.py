"""Orders are indexed by customer, newest first, for ``GET /orders?customer_id=`` ("my orders").

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX orders_by_customer ON orders (customer_id, created_at DESC, order_id DESC)")


def downgrade() -> None:
    op.drop_index("orders_by_customer", table_name="orders")
