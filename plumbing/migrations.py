"""Alembic, run by each service at start-up: its own migrations folder, its own database."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy.dialects.postgresql import JSONB, UUID


def upgrade_to_head(package: str, database_url: str) -> None:
    """Apply ``<package>/migrations`` to ``database_url`` up to the newest revision."""
    config = Config()
    config.set_main_option("script_location", f"{package}:migrations")
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


def run_migrations() -> None:
    """The body of every service's ``migrations/env.py`` (online mode only)."""
    url = context.config.attributes["database_url"]
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as connection:
        # Serialise concurrent starts of the same service: only one applies the migrations.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(7426001)"))
        context.configure(connection=connection, transaction_per_migration=False)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    engine.dispose()


def create_messaging_tables() -> None:
    """Create the outbox and inbox tables as first shipped (called by each service's first migration)."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("headers", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "inbox",
        sa.Column("message_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("message_type", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


RECORDED_REPLY_COLUMNS = ("reply_topic", "reply_key", "reply_value", "reply_headers")


def add_recorded_replies() -> None:
    """Give the inbox the columns that record a command's reply (its outbox row), to answer a re-sent command.

    Nullable: events have no reply, and commands applied before this revision were answered but not recorded.
    """
    op.add_column("inbox", sa.Column("reply_topic", sa.Text, nullable=True))
    op.add_column("inbox", sa.Column("reply_key", sa.Text, nullable=True))
    op.add_column("inbox", sa.Column("reply_value", sa.LargeBinary, nullable=True))
    op.add_column("inbox", sa.Column("reply_headers", JSONB, nullable=True))


def drop_recorded_replies() -> None:
    """Undo ``add_recorded_replies``."""
    for column in RECORDED_REPLY_COLUMNS:
        op.drop_column("inbox", column)


INBOX_AGE_INDEX = "inbox_by_applied_at"


def add_inbox_age_index() -> None:
    """Index the inbox by ``applied_at``: the pruner's ``applied_at < now() - retention`` then reads only the rows
    it deletes, instead of scanning the whole inbox every period. Plain ``CREATE INDEX`` (migrations run in a
    transaction): it holds off inbox writes while it builds, a short stop for an inbox kept pruned."""
    op.create_index(INBOX_AGE_INDEX, "inbox", ["applied_at"])


def drop_inbox_age_index() -> None:
    """Undo ``add_inbox_age_index``."""
    op.drop_index(INBOX_AGE_INDEX, table_name="inbox")
