"""Transient or permanent, told by SQLSTATE in one place (``plumbing.db.fault_of``), on the errors psycopg raises
and SQLAlchemy wraps."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from plumbing.db import Fault, fault_of, is_transient


def wrapped(error: Exception, *, invalidated: bool = False) -> sa.exc.StatementError:
    """``error`` as SQLAlchemy raises it from a statement."""
    return sa.exc.DBAPIError.instance(
        "INSERT INTO reservations", {}, error, psycopg.Error, connection_invalidated=invalidated
    )


@pytest.mark.parametrize(
    ("sqlstate", "fault"),
    [
        ("08000", Fault.OUTAGE),  # connection exception
        ("08006", Fault.OUTAGE),  # connection failure
        ("57P01", Fault.OUTAGE),  # admin shutdown
        ("57P02", Fault.OUTAGE),  # crash shutdown
        ("57P03", Fault.OUTAGE),  # cannot connect now
        ("53100", Fault.OUTAGE),  # disk full
        ("53200", Fault.OUTAGE),  # out of memory
        ("53300", Fault.OUTAGE),  # too many connections
        ("58030", Fault.OUTAGE),  # I/O error
        ("40003", Fault.OUTAGE),  # statement completion unknown
        ("40001", Fault.CONFLICT),  # serialization failure
        ("40P01", Fault.CONFLICT),  # deadlock detected
        ("55P03", Fault.CONFLICT),  # lock not available
        ("22001", Fault.PERMANENT),  # string data right truncation
        ("22P05", Fault.PERMANENT),  # untranslatable character (\u0000 in jsonb)
        ("22021", Fault.PERMANENT),  # character not in repertoire
        ("23505", Fault.PERMANENT),  # unique violation
        ("23514", Fault.PERMANENT),  # check violation
        ("54000", Fault.PERMANENT),  # program limit exceeded: index row size exceeds btree maximum
        ("54001", Fault.PERMANENT),  # statement too complex
        ("57014", Fault.PERMANENT),  # query canceled (statement timeout)
        ("42P01", Fault.PERMANENT),  # undefined table
        ("42601", Fault.PERMANENT),  # syntax error
        ("XX000", Fault.PERMANENT),  # internal error
    ],
)
def test_sqlstates_are_classified(sqlstate: str, fault: Fault) -> None:
    error = psycopg.errors.lookup(sqlstate)("message")
    assert fault_of(wrapped(error)) is fault
    assert fault_of(error) is fault  # the driver's own error, unwrapped
    assert is_transient(wrapped(error)) is (fault is not Fault.PERMANENT)


def test_psycopg_classes_do_not_decide() -> None:
    # psycopg calls all of these OperationalError; only some of them are worth waiting for.
    outage, limit = psycopg.errors.lookup("08006"), psycopg.errors.lookup("54000")
    assert issubclass(outage, psycopg.OperationalError) and issubclass(limit, psycopg.OperationalError)
    assert type(wrapped(limit("x"))) is sa.exc.OperationalError
    assert (fault_of(wrapped(outage("x"))), fault_of(wrapped(limit("x")))) == (Fault.OUTAGE, Fault.PERMANENT)


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (wrapped(psycopg.OperationalError("connection failed: Connection refused")), Fault.OUTAGE),
        (wrapped(psycopg.InterfaceError("the connection is closed")), Fault.OUTAGE),
        (wrapped(psycopg.errors.lookup("23505")("dup"), invalidated=True), Fault.OUTAGE),
        (sa.exc.DisconnectionError("hung up"), Fault.OUTAGE),
        (sa.exc.TimeoutError("QueuePool limit reached"), Fault.OUTAGE),
        (wrapped(psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")), Fault.PERMANENT),
        (ValueError("not the database"), Fault.PERMANENT),
        (RecursionError(), Fault.PERMANENT),
    ],
)
def test_errors_without_sqlstate_are_outages_only_when_about_the_connection(error: Exception, fault: Fault) -> None:
    assert fault_of(error) is fault
