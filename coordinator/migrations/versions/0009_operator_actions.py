"""Operators' actions say who did them: saga timelines name the actor of an operator's step, and each dead
letter an operator replayed or discarded has its disposition (what, by whom, when).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("saga_history", sa.Column("actor", sa.Text, nullable=True))
    op.create_table(
        "dead_letter_dispositions",
        sa.Column("letter_id", sa.Text, primary_key=True),
        sa.Column("disposition", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("replays", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("disposition IN ('replayed', 'discarded')", name="known_disposition"),
    )


def downgrade() -> None:
    op.drop_table("dead_letter_dispositions")
    op.drop_column("saga_history", "actor")
