"""Applying one consumed batch: decode, claim in the inbox, run the handlers, commit; isolate what fails.

The fast path applies the whole batch in one transaction. If anything in it fails for a reason other than an
unavailable dependency, each message is applied again in a transaction of its own: one that fails for good is
dead-lettered (a saga command's sender is told, with ``CommandFailed``); one that keeps colliding with other
transactions (deadlocks, serialization failures) is retried a bounded number of times, then dead-lettered too.
An unavailable database or Stripe is raised, for the consumer to retry the whole batch without bound.
A transaction per message rather than a savepoint per message in one: a message retried after a deadlock must
not keep holding the locks the messages before it took, and a failure at commit must be pinned on one message.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Generic

import msgspec
import sqlalchemy as sa
from confluent_kafka import Message as KafkaMessage

from contracts.codecs import codec_for
from contracts.topics import SAGA_REPLIES
from plumbing.db import Fault, fault_of
from plumbing.errors import RetryLater, Unprocessable
from plumbing.inbox import InboxPort
from plumbing.metrics import MESSAGES
from plumbing.poison import COMMAND_TOPICS, Poison, dead_letter_fields, failure_reply
from plumbing.routing import Batched, Decoded, Routes, handle, scopes
from plumbing.unit_of_work import U, UnitsOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """How far a consumer goes with one message (``RV_MAX_MESSAGE_BYTES``, ``RV_MAX_ATTEMPTS``, ``RV_RETRY_BACKOFF_S``
    in the service's settings)."""

    max_message_bytes: int = 1_000_000
    """Larger values are dead-lettered without being decoded (the producers' own limit is 1,000,000 bytes)."""
    max_attempts: int = 5
    """Attempts at a message that keeps colliding with other transactions before it is dead-lettered."""
    first_backoff_s: float = 0.1
    """The wait after its first collision, doubled after each further one."""


@dataclass
class ConsumerStats:
    """Counters the consumer keeps (in ``/health``)."""

    applied: int = 0
    duplicates: int = 0
    replies_resent: int = 0
    """Recorded replies sent again because their command came again."""
    dead_lettered: int = 0
    gave_up: int = 0
    """Messages dead-lettered after ``Limits.max_attempts`` collisions (also counted in ``dead_lettered``)."""
    lost: int = 0
    """Messages whose dead letter could not be written either: logged with their position, then skipped."""
    batches: int = 0
    errors: dict[str, int] = field(default_factory=Counter)
    """Failed attempts at single messages, by exception type."""


def worth_waiting(error: BaseException) -> bool:
    """Errors that say "not now" (the database or Stripe unavailable): retry the batch, without bound."""
    return isinstance(error, RetryLater) or fault_of(error) is Fault.OUTAGE


class BatchApplier(Generic[U]):
    """Applies batches of Kafka messages through ``routes``, exactly once each (see the module's doc)."""

    def __init__(
        self,
        *,
        service: str,
        units: UnitsOfWork[U],
        inbox: InboxPort,
        routes: Routes[U],
        limits: Limits,
        stats: ConsumerStats,
    ) -> None:
        self._service = service
        self._units = units
        self._inbox = inbox
        self._routes = routes
        self._limits = limits
        self.stats = stats
        self._done: set[tuple[str, int, int]] = set()

    def apply(self, batch: list[KafkaMessage], stop: threading.Event) -> None:
        """Apply ``batch``; raises only what ``worth_waiting`` (the caller retries the batch).

        Messages a previous try of the same batch committed one at a time are not applied again.
        """
        entries = [self.decode(raw) for raw in batch if _position(raw) not in self._done]
        try:
            self._commit(entries)
        except Exception as error:
            if worth_waiting(error):
                raise
            log.warning("%s: the batch failed (%r); applying its messages one at a time", self._service, error)
            for entry in entries:
                self._alone(entry, stop)
        self._done.clear()

    def decode(self, raw: KafkaMessage) -> Decoded[U] | Poison:
        """The message decoded strictly against its topic's contract, with its handler; or why it is poison."""
        topic, value = raw.topic() or "", raw.value() or b""
        if len(value) > self._limits.max_message_bytes:
            return Poison(raw, f"invalid message: {len(value)} bytes, over the {self._limits.max_message_bytes} limit")
        try:
            envelope = codec_for(topic).decode(value)
        except Exception as error:  # any: recursion and memory limits, huge numbers, a decoder's own bug
            return Poison(raw, f"invalid message: {_described(error)}")
        handler = self._routes.get(topic, {}).get(envelope.type)
        if handler is None:
            return Poison(raw, f"{self._service} has no handler for {envelope.type} on {topic}", envelope)
        return Decoded(raw, envelope, handler)

    def _commit(self, entries: list[Decoded[U] | Poison]) -> None:
        """Apply the decoded entries and dead-letter the poison, in one transaction; count once committed."""
        counted: list[tuple[str, str]] = []
        poison = [entry for entry in entries if isinstance(entry, Poison)]
        with self._units.begin() as uow:
            resent = self._apply([entry for entry in entries if isinstance(entry, Decoded)], uow, counted)
            for bad in poison:
                uow.dead_letter(**dead_letter_fields(bad, self._service))
                reply = failure_reply(bad)
                if reply is not None and bad.envelope is not None:
                    uow.publish(SAGA_REPLIES, reply, key=str(bad.envelope.saga_id))
        self._count(counted, poison, resent)

    def _apply(self, decoded: list[Decoded[U]], uow: U, counted: list[tuple[str, str]]) -> int:
        """Claim the ids, run the handlers (batched ones get all their messages at once), record the replies,
        and send the recorded replies of commands that came again; returns how many were sent again."""
        fresh = self._inbox.claim(uow.conn, decoded)
        claimed = set(fresh)
        together: dict[int, tuple[Batched[U], list[Decoded[U]]]] = {}
        again: list[uuid.UUID] = []
        for item in decoded:
            message_id = item.envelope.message_id
            if message_id not in fresh:
                counted.append((item.topic, "duplicate"))
                # Not when its first copy is in this very batch: that one's reply is being written now.
                if message_id not in claimed and item.topic in COMMAND_TOPICS:
                    again.append(message_id)
                continue
            fresh.discard(message_id)  # the same id twice in one batch: apply it once
            if isinstance(item.handler, Batched):
                together.setdefault(id(item.handler), (item.handler, []))[1].append(item)
            else:
                handle(uow, item)
            counted.append((item.topic, "applied"))
        for handler, items in together.values():
            handler.many(uow, [item.envelope for item in items], scopes(items))
        self._inbox.record_replies(uow, {c: row for c, row in uow.replies.items() if c in claimed})
        recorded = self._inbox.recorded_replies(uow.conn, again)
        for row in recorded:
            uow.republish(**row)
        return len(recorded)

    def _alone(self, entry: Decoded[U] | Poison, stop: threading.Event) -> None:
        """Apply one message in a transaction of its own, else dead-letter it, else (last resort) skip it."""
        if isinstance(entry, Decoded):
            reason = self._attempt(entry, stop)
            if reason is None:
                self._done.add(_position(entry.raw))
                return
            entry = Poison(entry.raw, reason, entry.envelope)
        try:
            self._commit([entry])
        except Exception as error:
            if worth_waiting(error):
                raise
            # Last resort: a message that can neither be applied nor dead-lettered (nothing known should get
            # here: dead letters are escaped and cut to fit) would otherwise stop its partition for good, the
            # consumer failing on it after every restart. Skipping it loses one message that was refused anyway;
            # its position is logged, so it can still be read from Kafka while the topic retains it.
            self.stats.lost += 1
            MESSAGES.labels(self._service, entry.raw.topic(), "lost").inc()
            log.critical(
                "%s: could not dead-letter %s[%s]@%s (%s): %r; skipped",
                *(self._service, entry.raw.topic(), entry.raw.partition(), entry.raw.offset(), entry.reason, error),
            )
        self._done.add(_position(entry.raw))

    def _attempt(self, item: Decoded[U], stop: threading.Event) -> str | None:
        """Apply ``item`` alone, again after collisions; None once applied, else why it is given up."""
        attempt, wait_s = 1, self._limits.first_backoff_s
        while True:
            try:
                self._commit([item])
                return None
            except Exception as error:
                if worth_waiting(error):
                    raise
                self.stats.errors[type(error).__name__] += 1
                if fault_of(error) is not Fault.CONFLICT:
                    return _reason(error)
                if attempt >= self._limits.max_attempts:
                    self.stats.gave_up += 1
                    return f"gave up after {attempt} attempts: {_reason(error)}"
                log.warning("%s: attempt %d at a message failed (%r); trying again", self._service, attempt, error)
                if stop.wait(wait_s):
                    raise RetryLater("the service is stopping") from error
                attempt, wait_s = attempt + 1, wait_s * 2

    def _count(self, counted: list[tuple[str, str]], poison: list[Poison], resent: int) -> None:
        outcomes = Counter(outcome for _topic, outcome in counted)
        self.stats.applied += outcomes["applied"]
        self.stats.duplicates += outcomes["duplicate"]
        self.stats.replies_resent += resent
        self.stats.dead_lettered += len(poison)
        for (topic, outcome), times in Counter(counted).items():
            MESSAGES.labels(self._service, topic, outcome).inc(times)
        for bad in poison:
            raw = bad.raw
            MESSAGES.labels(self._service, raw.topic(), "dead_lettered").inc()
            log.error(
                "%s: dead-lettered %s[%s]@%s: %s", self._service, raw.topic(), raw.partition(), raw.offset(), bad.reason
            )


def _position(raw: KafkaMessage) -> tuple[str, int, int]:
    return raw.topic() or "", raw.partition() or 0, raw.offset() or 0


def _described(error: Exception) -> str:
    if isinstance(error, msgspec.DecodeError | msgspec.ValidationError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _reason(error: Exception) -> str:
    """A dead letter's reason for a message whose application failed."""
    if isinstance(error, Unprocessable):
        return str(error)
    if isinstance(error, sa.exc.DBAPIError):  # the driver's error, without the statement and its parameters
        orig = error.orig
        return f"handler failed: {type(orig).__name__} (SQLSTATE {getattr(orig, 'sqlstate', None)}): {orig}"
    return f"handler failed: {error!r}"
