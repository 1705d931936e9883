"""The gateway's first table: users (name, argon2 hash, role).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("username", sa.Text, primary_key=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("role IN ('customer', 'operator')", name="users_role_known"),
        sa.CheckConstraint("length(username) BETWEEN 1 AND 64", name="users_username_length"),
    )


def downgrade() -> None:
    op.drop_table("users")
