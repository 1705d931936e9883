"""``GET /payments/{order_id}``'s read: its connection is opened and closed off the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from payment import services
from tests.unit.fakes import FakeUnitsOfWork
from tests.unit.payment.fakes import FakePaymentUnitOfWork, charge, payments


class ThreadNoting(FakeUnitsOfWork[FakePaymentUnitOfWork]):
    """Fake units of work that note the thread each read's connection is opened and closed on."""

    def __init__(self, units: FakeUnitsOfWork[FakePaymentUnitOfWork]) -> None:
        super().__init__(units.uow)
        self.threads: list[int] = []

    @contextmanager
    def read(self) -> Iterator[FakePaymentUnitOfWork]:
        self.threads.append(threading.get_ident())
        try:
            yield self.uow
        finally:
            self.threads.append(threading.get_ident())


def test_the_read_connection_never_waits_on_the_event_loop() -> None:
    units = ThreadNoting(payments())
    asyncio.run(services.charge_payment(units.uow, charge("o-1")))

    async def read() -> tuple[int, str]:
        payment = await services.get_payment(units, "o-1")
        return threading.get_ident(), payment.order_id

    loop_thread, order_id = asyncio.run(read())
    assert order_id == "o-1"
    assert len(units.threads) == 2
    assert loop_thread not in units.threads
