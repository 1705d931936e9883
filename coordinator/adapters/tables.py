"""Coordinator's tables (SQLAlchemy Core); the migrations under coordinator/migrations create them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from plumbing.db import messaging_tables

metadata = sa.MetaData()

sagas = sa.Table(
    "sagas",
    metadata,
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
    sa.Column("step_started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("failure_reason", sa.Text, nullable=True),
    sa.Column("overdue_since", sa.DateTime(timezone=True), nullable=True),
    sa.Column("stuck_reason", sa.Text, nullable=True),
    sa.Column("data", JSONB, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("trace_context", sa.Text, nullable=True),  # W3C traceparent of the order's trace
    sa.UniqueConstraint("saga_type", "order_id", name="one_saga_per_order"),
)

saga_history = sa.Table(
    "saga_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("saga_id", UUID(as_uuid=True), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=True),
    sa.Column("message_type", sa.Text, nullable=True),
    sa.Column("message_id", UUID(as_uuid=True), nullable=True),
    sa.Column("attempt", sa.Integer, nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("instance", sa.Text, nullable=True),  # the coordinator instance that applied the step
    sa.Column("participant_instance", sa.Text, nullable=True),  # the one that executed the replied command
    sa.Column("actor", sa.Text, nullable=True),  # who asked for an operator's step (null: the coordinator itself)
)

dead_letter_dispositions = sa.Table(
    "dead_letter_dispositions",
    metadata,
    sa.Column("letter_id", sa.Text, primary_key=True),  # the dead letter's ``unique_id``: ``partition-offset@ms``
    sa.Column("disposition", sa.Text, nullable=False),  # replayed | discarded
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("replays", sa.Integer, nullable=False, server_default="0"),
)

outbox, inbox = messaging_tables(metadata)
