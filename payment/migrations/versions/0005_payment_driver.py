"""The replies a payment owes and who drives it: payment accepts a command in the consumer's transaction and a
driver makes the Stripe calls afterwards (``payment.entrypoints.driver``).

``charge_command`` / ``refund_command``: the command (its encoded envelope) whose reply is still owed, cleared
in the transaction that writes the reply. ``claimed_by`` / ``lease_until``: the instance driving the payment and
until when; a payment waiting out a processor outage has no claimant and ``lease_until`` at its next try.
``attempts``: tries since the last progress, for the backoff. The partial index finds the payments to drive.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("charge_command", sa.LargeBinary, nullable=True))
    op.add_column("payments", sa.Column("refund_command", sa.LargeBinary, nullable=True))
    op.add_column("payments", sa.Column("claimed_by", sa.Text, nullable=True))
    op.add_column("payments", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("payments", sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
    op.create_index(
        "payments_to_drive",
        "payments",
        ["lease_until"],
        postgresql_where=sa.text("status IN ('PENDING', 'REFUNDING')"),
    )


def downgrade() -> None:
    op.drop_index("payments_to_drive", table_name="payments")
    for column in ("attempts", "lease_until", "claimed_by", "refund_command", "charge_command"):
        op.drop_column("payments", column)
