"""Sagas remember since when their current step is overdue (what the dashboard calls stuck).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sagas", sa.Column("overdue_since", sa.DateTime(timezone=True), nullable=True))
    op.create_index("sagas_stuck", "sagas", ["overdue_since"], postgresql_where=sa.text("overdue_since IS NOT NULL"))
    op.create_index("sagas_finished", "sagas", ["finished_at"], postgresql_where=sa.text("finished_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("sagas_finished", "sagas")
    op.drop_index("sagas_stuck", "sagas")
    op.drop_column("sagas", "overdue_since")
