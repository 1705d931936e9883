"""The inbox records each command's reply (the shared messaging tables stay alike in every service; the
coordinator answers no commands, so its columns stay empty).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from plumbing.migrations import add_recorded_replies, drop_recorded_replies

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_recorded_replies()


def downgrade() -> None:
    drop_recorded_replies()
