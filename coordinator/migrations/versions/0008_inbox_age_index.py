"""The inbox is indexed by when each message was applied, so pruning reads only the rows it deletes.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from plumbing.migrations import add_inbox_age_index, drop_inbox_age_index

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_inbox_age_index()


def downgrade() -> None:
    drop_inbox_age_index()
