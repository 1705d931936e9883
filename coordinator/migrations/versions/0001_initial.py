"""Coordinator's first tables: sagas, saga_history, outbox, inbox.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from plumbing.migrations import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sagas",
        sa.Column("saga_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("saga_type", sa.Text, nullable=False),
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("current_action", sa.Text, nullable=True),
        sa.Column("step_index", sa.Integer, nullable=False),
        sa.Column("undo_from", sa.Integer, nullable=True),
        sa.Column("compensation_index", sa.Integer, nullable=False),
        sa.Column("awaiting_message_id", UUID(as_uuid=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.Column("stuck_reason", sa.Text, nullable=True),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("saga_type", "order_id", name="one_saga_per_order"),
    )
    # The deadline sweep only looks at sagas that wait for a reply.
    op.create_index("sagas_due", "sagas", ["deadline_at"], postgresql_where=sa.text("deadline_at IS NOT NULL"))
    op.create_index("sagas_order_id", "sagas", ["order_id"])
    op.create_index("sagas_state_created", "sagas", ["state", "created_at"])
    op.create_table(
        "saga_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("saga_id", UUID(as_uuid=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=True),
        sa.Column("message_type", sa.Text, nullable=True),
        sa.Column("message_id", UUID(as_uuid=True), nullable=True),
        sa.Column("attempt", sa.Integer, nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("saga_history_saga_id", "saga_history", ["saga_id", "id"])
    create_messaging_tables()


def downgrade() -> None:
    for table in ("inbox", "outbox", "saga_history", "sagas"):
        op.drop_table(table)
