"""The partial index that finds the payments to drive now also requires that a payment owes a reply (as the
claim does): parked payments (PENDING or REFUNDING, owing nothing) no longer fill it; and it is ordered
``lease_until NULLS FIRST, order_id``, the claim's order (new payments first, then the longest-waiting): a claim
reads the index in its own order and stops at its limit.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TO_DRIVE = "status IN ('PENDING', 'REFUNDING')"


def upgrade() -> None:
    op.drop_index("payments_to_drive", table_name="payments")
    op.create_index(
        "payments_to_drive",
        "payments",
        [sa.text("lease_until NULLS FIRST"), "order_id"],
        postgresql_where=sa.text(f"{_TO_DRIVE} AND (charge_command IS NOT NULL OR refund_command IS NOT NULL)"),
    )


def downgrade() -> None:
    op.drop_index("payments_to_drive", table_name="payments")
    op.create_index("payments_to_drive", "payments", ["lease_until"], postgresql_where=sa.text(_TO_DRIVE))
