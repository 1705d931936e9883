"""Sagas keep the W3C trace context of the order that started them, so re-sends and replays join its trace.

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


def upgrade() -> None:
    op.add_column("sagas", sa.Column("trace_context", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("sagas", "trace_context")
