"""``outbox_parked``: outbox rows Kafka refused for good, set aside so the rows behind them flow on.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from plumbing.parked_migration import create_parked_table, drop_parked_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_parked_table()


def downgrade() -> None:
    drop_parked_table()
