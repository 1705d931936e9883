"""The driver: payment's worker that takes accepted payments through their steps with the processor.

A consumer's transaction that accepts payments to drive leases them to this driver itself, as far as there is room
(``lessee``), and hands them over once it has committed (``adopt``): no claim of its own. The driver is woken
(``wake``) when one was left to claim, and claims every ``scan_every_s`` anyway (a payment whose lease ran out,
whose outage backoff is over, or that another instance left behind). Each claim leases the payments for
``lease_s``; their steps run side by side on payment's event loop (at most ``max_in_flight``), and the steps that
end together settle in one transaction (``GroupCommit``), outcome and replies at once. While a claim's payments are
in flight, its lease is renewed every third of ``lease_s``: a slow Stripe call never lets another instance take a
payment its driver still drives (the claim's fences stay for a driver that stops renewing: a frozen or partitioned
process). A step or settlement that fails otherwise than by a database outage or collision (a bug, an answer nobody
foresaw) is counted and, after ``max_attempts`` in a row, its payment given up on; so is, at once, a claimed
payment whose stored command no longer decodes (``payment.driving``). Only a permanent database error stops the
worker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
import uuid
from collections import Counter

import psycopg
import sqlalchemy as sa

from payment import driving
from payment.adapters.group_commit import GroupCommit
from payment.entrypoints.event_loop import PAYMENT_LOOP, EventLoopThread
from payment.ports import Owed, PaymentGateway, PaymentUnitOfWork
from plumbing.db import Fault, fault_of, is_transient
from plumbing.runtime import Worker
from plumbing.unit_of_work import UnitsOfWork

log = logging.getLogger(__name__)


class Driver:
    """Drives the payments ``instance`` claims; ``run`` is its worker loop (``plumbing.runtime.Worker``)."""

    def __init__(
        self,
        gateway: PaymentGateway,
        *,
        instance: str,
        max_in_flight: int,
        lease_s: float = 30.0,
        scan_every_s: float = 1.0,
        max_attempts: int = driving.MAX_ATTEMPTS,
        loop: EventLoopThread = PAYMENT_LOOP,
    ) -> None:
        self._units: UnitsOfWork[PaymentUnitOfWork] | None = None
        self._gateway = gateway
        self._instance, self._max_in_flight = instance, max_in_flight
        self._lease_s, self._scan_every_s, self._loop = lease_s, scan_every_s, loop
        self._max_attempts = max_attempts
        self._woken = threading.Event()
        self._counting = threading.Lock()
        self._in_flight = 0
        self._full = False  # a claim found no room: the next payment settled makes room, and wakes the driver
        self._claims: Counter[str] = Counter()  # payments in flight per claim (lease)
        self._renewed_at = time.monotonic()
        self._released = False  # until this instance's old leases are released, accepts lease nothing
        self._lent: dict[str, int] = {}  # room kept per lessee (its lease) until its transaction ends
        self._settlements: GroupCommit[driving.Stepped, bool] = GroupCommit(self._settle)
        self._intents: GroupCommit[tuple[str, str, str], bool] = GroupCommit(self._store_intents)

    def worker(self, units: UnitsOfWork[PaymentUnitOfWork]) -> Worker:
        """The driver's worker, opening its transactions through ``units`` (the service's, handing to its relay)."""
        self._units = units
        return Worker("payment-driver", self.run)

    @property
    def units(self) -> UnitsOfWork[PaymentUnitOfWork]:
        assert self._units is not None, "the driver's worker was not made (see ``worker``)"
        return self._units

    def wake(self) -> None:
        """Look for payments to drive now (called once a transaction that accepted one has committed)."""
        self._woken.set()

    def run(self, stop: threading.Event) -> None:
        """Claim and drive payments until ``stop``; first release what this instance held before it restarted.

        A database outage or collision is waited out, and so is any error not the database's (logged): the
        next scan tries again. Only a permanent database error (the schema, a bug in a statement) ends it.
        """
        while not stop.is_set():
            # Cleared before the claim, not after the wait: a wake that comes during the claim is kept.
            self._woken.clear()
            try:
                if not self._released:
                    self.release()
                self.claim()
                self.renew()
            except Exception as error:
                if _is_database(error) and fault_of(error) is Fault.PERMANENT:
                    raise
                log.warning("payment driver: the scan failed (%r); trying again at the next one", error)
            self._woken.wait(min(self._scan_every_s, self._lease_s / 3))

    def release(self) -> None:
        """Release what this instance held before it (re)started; until then, ``lessee`` has no room."""
        with self.units.begin() as uow:
            uow.driven.release(self._instance)
        self._released = True

    def lessee(self, most: int) -> driving.Lessee | None:
        """Room for up to ``most`` payments a consumer's transaction accepts now (``driving.accept``), kept until
        ``adopt`` (it committed) or ``give_back`` (it did not); None if there is none."""
        lease = f"{self._instance}/{uuid.uuid4().hex[:12]}"
        with self._counting:
            room = min(most, self._max_in_flight - self._in_flight) if self._released else 0
            if room <= 0:
                return None
            self._in_flight += room
            self._lent[lease] = room
        return driving.Lessee(lease, self._lease_s, room)

    def adopt(self, lessee: driving.Lessee) -> None:
        """Drive the payments ``lessee`` leased (its transaction has committed); give back the room it left."""
        with self._counting:
            room = self._lent.pop(lessee.lease, None)
            if room is None:
                return
            self._in_flight -= room - len(lessee.leased)
            if lessee.leased:
                self._claims[lessee.lease] += len(lessee.leased)
        for owed in lessee.leased:
            self._loop.submit(self._drive(owed))

    def give_back(self, lease: str) -> None:
        """Give back the room kept for the lessee ``lease`` if it was not adopted (its transaction rolled back)."""
        with self._counting:
            room = self._lent.pop(lease, 0)
            self._in_flight -= room
        if room:
            self.wake()

    def renew(self, *, every_s: float | None = None) -> bool:
        """Renew the leases of the claims with payments in flight, if the last renewal is a third of ``lease_s``
        (or ``every_s``) old; whether it did."""
        if time.monotonic() - self._renewed_at < (self._lease_s / 3 if every_s is None else every_s):
            return False
        with self._counting:
            claims = sorted(self._claims)
        if claims:
            with self.units.begin() as uow:
                uow.driven.renew(claims, self._lease_s)
        self._renewed_at = time.monotonic()
        return bool(claims)

    def claim(self) -> int:
        """Claim as many payments as there is room for and start driving them; how many."""
        with self._counting:
            room = self._max_in_flight - self._in_flight
            self._full = room <= 0
        if room <= 0:
            return 0
        lease = f"{self._instance}/{uuid.uuid4().hex[:12]}"
        with self.units.begin() as uow:
            leased = uow.driven.claim(lease, room, self._lease_s)
            claimed = driving.readable(uow, leased)
        with self._counting:
            self._in_flight += len(claimed)
            if claimed:
                self._claims[lease] += len(claimed)
        for owed in claimed:
            self._loop.submit(self._drive(owed))
        if len(leased) == room:
            self._woken.set()  # there may be more
        return len(claimed)

    @property
    def in_flight(self) -> int:
        """Payments claimed and not settled yet."""
        with self._counting:
            return self._in_flight

    async def _drive(self, owed: Owed) -> None:
        again = False
        try:
            try:
                stepped = await driving.step(self._store_intent, self._gateway, owed)
            except Exception as error:  # not the processor's (``step`` sorts those): counted, given up on in time
                log.exception("payment %s: its step failed", owed.payment.order_id)
                stepped = driving.Stepped(owed, failed=_described(error))
            again = await self._settled(stepped)
        except Exception:  # the database: the lease runs out and the payment is claimed again
            log.exception("payment %s: not settled; driven again once its lease runs out", owed.payment.order_id)
        finally:
            with self._counting:
                again = again or self._full
                self._full = False
                self._in_flight -= 1
                lease = owed.lease or ""
                self._claims[lease] -= 1
                if self._claims[lease] <= 0:
                    del self._claims[lease]
        if again:
            self.wake()

    async def _settled(self, stepped: driving.Stepped) -> bool:
        """Settle the step with the others that end meanwhile; if their transaction fails otherwise than by a
        database outage or collision, settle it alone (another step's settlement may have failed the group), and
        if it fails alone too, record it as a failed step (counted towards giving the payment up)."""
        try:
            return await self._settlements.submit(stepped)
        except Exception as error:
            if is_transient(error):
                raise
        try:
            return (await asyncio.to_thread(self._settle, [stepped]))[0]
        except Exception as error:
            if is_transient(error):
                raise
            log.exception("payment %s: its settlement failed", stepped.owed.payment.order_id)
            failed = dataclasses.replace(
                stepped, payment=None, unavailable=None, refused=None, failed=_described(error)
            )
        return (await asyncio.to_thread(self._settle, [failed]))[0]

    async def _store_intent(self, order_id: str, intent_id: str, lease: str) -> bool:
        return await self._intents.submit((order_id, intent_id, lease))

    def _store_intents(self, intents: list[tuple[str, str, str]]) -> list[bool]:
        with self.units.begin() as uow:
            return uow.driven.store_intents(intents)

    def _settle(self, steps: list[driving.Stepped]) -> list[bool]:
        return driving.settle(self.units, steps, self._max_attempts)


def _is_database(error: BaseException) -> bool:
    return isinstance(error, (sa.exc.SQLAlchemyError, psycopg.Error))


def _described(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
