"""``payment.ports.DrivenPayments`` in the ``payments`` table, on the connection of a unit of work.

The owed replies are kept as the commands' encoded envelopes (``charge_command``, ``refund_command``): all a
reply needs (saga, correlation and message ids) and what an operator needs to see what was asked; beside each,
the ``traceparent`` it came in (``charge_trace``, ``refund_trace``); one whose bytes no longer decode is read as
``Owed.unreadable`` (never an error: the driver gives that payment up, the others go on). Every write that waits
for locks takes them in ``order_id`` order, so the consumer's accepts and the drivers' settlements never deadlock.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from contracts.codecs import Codec, codec_for
from contracts.envelope import Envelope
from contracts.topics import PAYMENT_COMMANDS
from payment.adapters.payment_store import payment_of
from payment.adapters.tables import inbox, payments
from payment.domain.driving import TO_DRIVE
from payment.domain.payments import Payment
from payment.ports import Owed, Unreadable
from plumbing.inbox import Inbox
from plumbing.json_rows import Deferred, recordset
from plumbing.unit_of_work import UnitOfWork

_KEYS = sa.bindparam("keys", type_=ARRAY(sa.Text))
_OWES = " (charge_command IS NOT NULL OR refund_command IS NOT NULL)"
# Spelled out, not a parameter: the planner then sees that the claim's rows are the partial index's (0007).
_TO_DRIVE = "status IN (" + ", ".join(f"'{status.value}'" for status in sorted(TO_DRIVE)) + ")"

_INSERT_NEW = sa.text(
    "INSERT INTO payments (order_id, idempotency_key, amount_cents, currency, payment_method, status)"
    " SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:idempotency_keys AS text[]), CAST(:amounts AS bigint[]),"
    " CAST(:currencies AS text[]), CAST(:methods AS text[]), CAST(:statuses AS text[]))"
    " ON CONFLICT (order_id) DO NOTHING"
)
# A payment owed now is leased to the accepting driver's claim (``o.lease``) if nobody holds it, as ``_CLAIM`` would.
_TAKEN = "o.lease IS NOT NULL AND (p.claimed_by IS NULL OR p.lease_until IS NULL OR p.lease_until < now())"
_OWE = sa.text(
    "UPDATE payments AS p SET status = o.status, charge_command = coalesce(o.charge, p.charge_command),"
    " refund_command = coalesce(o.refund, p.refund_command),"
    " charge_trace = CASE WHEN o.charge IS NULL THEN p.charge_trace ELSE o.charge_trace END,"
    " refund_trace = CASE WHEN o.refund IS NULL THEN p.refund_trace ELSE o.refund_trace END,"
    f" attempts = 0, updated_at = now(), claimed_by = CASE WHEN {_TAKEN} THEN o.lease ELSE p.claimed_by END,"
    f" lease_until = CASE WHEN {_TAKEN} THEN now() + make_interval(secs => :lease_s)"
    " WHEN p.claimed_by IS NULL THEN NULL ELSE p.lease_until END"
    " FROM unnest(CAST(:keys AS text[]), CAST(:statuses AS text[]), CAST(:charges AS bytea[]),"
    " CAST(:refunds AS bytea[]), CAST(:charge_traces AS text[]), CAST(:refund_traces AS text[]),"
    " CAST(:leases AS text[])) AS o(order_id, status, charge, refund, charge_trace, refund_trace, lease)"
    " WHERE p.order_id = o.order_id RETURNING p.order_id, p.claimed_by, o.lease"
)
_LOCK = sa.select(payments).where(payments.c.order_id == sa.any_(_KEYS)).order_by(payments.c.order_id).with_for_update()
# New payments first, then those waiting longest (order ids would starve the high ones). Not order-id order: the
# claim takes only rows nobody holds (SKIP LOCKED), so it never waits for a lock and cannot be in a deadlock.
_CLAIM = sa.text(
    "UPDATE payments SET claimed_by = :lease, lease_until = now() + make_interval(secs => :lease_s)"
    f" WHERE order_id = ANY(ARRAY(SELECT order_id FROM payments WHERE {_TO_DRIVE} AND"
    + _OWES
    + " AND (lease_until IS NULL OR lease_until < now()) ORDER BY lease_until NULLS FIRST, order_id LIMIT :limit"
    " FOR UPDATE SKIP LOCKED)) RETURNING *"
)
_POSTPONE = sa.text(
    "UPDATE payments SET claimed_by = NULL, lease_until = now() + make_interval(secs => :wait_s),"
    " attempts = attempts + 1 WHERE order_id = :key AND claimed_by = :lease"
)
_PARK = sa.text(
    "UPDATE payments SET claimed_by = NULL, lease_until = NULL, charge_command = NULL, refund_command = NULL,"
    " charge_trace = NULL, refund_trace = NULL WHERE order_id = :key AND claimed_by = :lease"
)
_RENEW = sa.text(
    "UPDATE payments SET lease_until = now() + make_interval(secs => :lease_s) WHERE claimed_by = ANY(:leases)"
).bindparams(sa.bindparam("leases", type_=ARRAY(sa.Text)))
_OWING = sa.text("SELECT order_id FROM payments WHERE order_id = ANY(:keys) AND" + _OWES).bindparams(_KEYS)
_RELEASE = sa.text(
    "UPDATE payments SET claimed_by = NULL, lease_until = NULL WHERE left(claimed_by, length(:prefix)) = :prefix"
)
# Fenced per row: only a claim that still holds its payment stores an intent, and never over one stored already.
_STORE_INTENTS = sa.text(
    "UPDATE payments AS p SET intent_id = i.intent_id, updated_at = now()"
    " FROM unnest(CAST(:keys AS text[]), CAST(:intents AS text[]), CAST(:leases AS text[]))"
    " AS i(order_id, intent_id, lease)"
    " WHERE p.order_id = i.order_id AND p.claimed_by = i.lease AND p.intent_id IS NULL RETURNING p.order_id, i.lease"
)
_OUTCOME_FIELDS = ("order_id", "intent_id", "refund_id", "decline_reason", "decline_code")
# Sent with the transaction's outbox insert (``UnitOfWork.defer``): nothing in the settlement reads it back.
_SETTLE = Deferred(
    "UPDATE payments AS p SET status = s.status, intent_id = s.intent_id, refund_id = s.refund_id,"
    " decline_reason = s.decline_reason, decline_code = s.decline_code,"
    " charge_command = CASE WHEN s.charge_answered THEN NULL ELSE p.charge_command END,"
    " charge_trace = CASE WHEN s.charge_answered THEN NULL ELSE p.charge_trace END,"
    " refund_command = CASE WHEN s.refund_answered THEN NULL ELSE p.refund_command END,"
    " refund_trace = CASE WHEN s.refund_answered THEN NULL ELSE p.refund_trace END,"
    " claimed_by = NULL, lease_until = NULL, attempts = 0, updated_at = now()"
    " FROM "
    + recordset(
        {
            **dict.fromkeys((*_OUTCOME_FIELDS, "status"), "text"),
            "charge_answered": "boolean",
            "refund_answered": "boolean",
        },
        "s",
        param="outcomes",
    )
    + " WHERE p.order_id = s.order_id",
    "outcomes",
)
_INBOX = Inbox(inbox)
_FORGET = sa.text(f"DELETE FROM {inbox.name} WHERE message_id = ANY(CAST(:ids AS uuid[]))")


class SqlDrivenPayments:
    """``DrivenPayments`` on ``conn``: its changes commit (or not) with the unit of work's transaction."""

    def __init__(self, conn: Connection, uow: UnitOfWork) -> None:
        self._conn = conn
        self._uow = uow

    def lock(self, new: list[Payment]) -> dict[str, Owed]:
        """One insert of the new payments (``ON CONFLICT DO NOTHING``), one ``SELECT … FOR UPDATE``."""
        if new:
            self._conn.execute(
                _INSERT_NEW,
                {
                    "keys": [p.order_id for p in new],
                    "idempotency_keys": [p.idempotency_key for p in new],
                    "amounts": [p.amount_cents for p in new],
                    "currencies": [p.currency for p in new],
                    "methods": [p.payment_method for p in new],
                    "statuses": [p.status.value for p in new],
                },
            )
        rows = self._conn.execute(_LOCK, {"keys": sorted({p.order_id for p in new})})
        return {row.order_id: _owed(row) for row in rows}

    def owe(self, owed: list[Owed], lease_s: float = 0.0) -> set[str]:
        """One ``UPDATE … FROM unnest(…) RETURNING``. A parked payment (see ``park``) is driven again: a command came
        for it."""
        rows = self._conn.execute(
            _OWE,
            {
                "keys": [o.payment.order_id for o in owed],
                "statuses": [o.payment.status.value for o in owed],
                "charges": [_encoded(o.charge) for o in owed],
                "refunds": [_encoded(o.refund) for o in owed],
                "charge_traces": [o.charge_trace for o in owed],
                "refund_traces": [o.refund_trace for o in owed],
                "leases": [o.lease for o in owed],
                "lease_s": lease_s,
            },
        )
        return {order_id for order_id, claimed_by, lease in rows if lease is not None and claimed_by == lease}

    def claim(self, lease: str, limit: int, lease_s: float) -> list[Owed]:
        params = {"lease": lease, "lease_s": lease_s, "limit": limit}
        return [_owed(row) for row in self._conn.execute(_CLAIM, params)]

    def renew(self, leases: list[str], lease_s: float) -> None:
        self._conn.execute(_RENEW, {"leases": leases, "lease_s": lease_s})

    def owing(self, order_ids: list[str]) -> set[str]:
        return set(self._conn.execute(_OWING, {"keys": order_ids}).scalars())

    def held(self, order_ids: list[str]) -> dict[str, Owed]:
        rows = self._conn.execute(_LOCK, {"keys": sorted(order_ids)})
        return {row.order_id: _owed(row) for row in rows}

    def store_intents(self, intents: list[tuple[str, str, str]]) -> list[bool]:
        """One ``UPDATE … FROM unnest(…) RETURNING``, its rows in order-id order (as every other write here)."""
        ordered = sorted(intents)
        params = {
            "keys": [order_id for order_id, _, _ in ordered],
            "intents": [intent_id for _, intent_id, _ in ordered],
            "leases": [lease for _, _, lease in ordered],
        }
        stored = {(order_id, lease) for order_id, lease in self._conn.execute(_STORE_INTENTS, params)}
        return [(order_id, lease) in stored for order_id, _, lease in intents]

    def settle(self, outcomes: list[tuple[Payment, bool, bool]]) -> None:
        """One ``UPDATE`` for all of them (locked already by ``held``), sent with the outbox insert."""
        self._uow.defer(
            _SETTLE,
            [
                {
                    **{name: getattr(payment, name) for name in _OUTCOME_FIELDS},
                    "status": payment.status.value,
                    "charge_answered": charge_answered,
                    "refund_answered": refund_answered,
                }
                for payment, charge_answered, refund_answered in outcomes
            ],
        )

    def postpone(self, order_id: str, lease: str, wait_s: float) -> None:
        self._conn.execute(_POSTPONE, {"key": order_id, "lease": lease, "wait_s": wait_s})

    def release(self, instance: str) -> None:
        self._conn.execute(_RELEASE, {"prefix": f"{instance}/"})

    def record_replies(self) -> None:
        _INBOX.record_replies(self._uow, self._uow.replies)

    def park(self, order_id: str, lease: str) -> None:
        commands = self.held([order_id]).get(order_id)
        if commands is None or commands.lease != lease:
            return
        ids = [str(e.message_id) for e in (commands.charge, commands.refund) if e is not None]
        self._conn.execute(_PARK, {"key": order_id, "lease": lease})
        self._conn.execute(_FORGET, {"ids": ids})


def _owed(row: sa.Row[Any]) -> Owed:
    m = row._mapping
    unreadable: list[Unreadable] = []
    charge = _decoded("charge", m["charge_command"], m["charge_trace"], unreadable)
    refund = _decoded("refund", m["refund_command"], m["refund_trace"], unreadable)
    return Owed(
        payment_of(row),
        charge,
        refund,
        m["attempts"],
        m["claimed_by"],
        m["charge_trace"] if charge is not None else None,
        m["refund_trace"] if refund is not None else None,
        tuple(unreadable),
    )


def _encoded(command: Envelope[Any] | None) -> bytes | None:
    return Codec.encode(command) if command is not None else None


def _decoded(name: str, stored: bytes | None, trace: str | None, unreadable: list[Unreadable]) -> Envelope[Any] | None:
    """The stored command, or None (none stored, or its bytes do not decode: then added to ``unreadable``)."""
    if stored is None:
        return None
    try:
        return codec_for(PAYMENT_COMMANDS.name).decode(bytes(stored))
    except Exception as error:  # whatever the codec raises: one row must not stop every claim
        unreadable.append(Unreadable(name, bytes(stored), trace, f"{type(error).__name__}: {error}"))
        return None
