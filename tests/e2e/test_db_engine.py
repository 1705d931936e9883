"""The services' engine: a pooled connection the server hung up on is replaced, not handed out broken."""

from __future__ import annotations

import sqlalchemy as sa

from infra import postgres
from plumbing.db import create_db_engine
from tests.support import database, wait_for


def test_a_connection_the_server_terminated_is_replaced_before_use() -> None:
    engine = create_db_engine(postgres.dsn("orders"), pool_size=2)
    try:
        with engine.connect() as conn:
            first_pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        # The connection is back in the pool; the server now ends its session, as a restart would.
        with database("orders").connect() as admin:
            assert admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid}).scalar_one()

        def gone() -> bool:
            with database("orders").connect() as admin:
                query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
                return bool(admin.execute(query, {"pid": first_pid}).scalar_one() == 0)

        wait_for(gone, timeout_s=10, what="the terminated backend to exit")
        with engine.begin() as conn:  # no error: the dead connection is discarded at checkout
            assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != first_pid
    finally:
        engine.dispose()
