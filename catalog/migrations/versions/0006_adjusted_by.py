"""Stock adjustments name who made them (the gateway's authenticated subject, a CLI user or ``direct``).

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
    op.add_column("stock_adjustments", sa.Column("adjusted_by", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("stock_adjustments", "adjusted_by")
