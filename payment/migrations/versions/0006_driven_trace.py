"""The trace each owed command came in (``charge_trace`` / ``refund_trace``: its W3C ``traceparent``), so the
driver's Stripe calls and its replies join the command's trace (see ``payment.driving``). A parked payment no
longer has ``lease_until`` 'infinity' (which the database driver cannot read back): owing no reply is what keeps
the driver off it now.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("charge_trace", sa.Text, nullable=True))
    op.add_column("payments", sa.Column("refund_trace", sa.Text, nullable=True))
    op.execute("UPDATE payments SET lease_until = NULL WHERE lease_until = 'infinity'")


def downgrade() -> None:
    op.drop_column("payments", "refund_trace")
    op.drop_column("payments", "charge_trace")
