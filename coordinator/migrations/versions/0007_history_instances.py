"""Saga timelines name the instances behind each step: the coordinator instance that applied it and the
participant instance that executed the command whose reply it applied.

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


def upgrade() -> None:
    op.add_column("saga_history", sa.Column("instance", sa.Text, nullable=True))
    op.add_column("saga_history", sa.Column("participant_instance", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("saga_history", "participant_instance")
    op.drop_column("saga_history", "instance")
