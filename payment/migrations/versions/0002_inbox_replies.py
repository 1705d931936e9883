"""The inbox records each command's reply, so a re-sent command is answered with it instead of silence.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from plumbing.migrations import add_recorded_replies, drop_recorded_replies

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_recorded_replies()


def downgrade() -> None:
    drop_recorded_replies()
