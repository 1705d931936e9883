"""A service's HTTP API in process over fake units of work: what its unit tests call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from litestar.testing import TestClient

from plumbing.http import EXCEPTION_HANDLERS
from plumbing.settings import ServiceSettings
from plumbing.unit_of_work import Transactions
from plumbing.wiring import api_plugins
from tests.unit.fakes import FakeUnitsOfWork

Client = TestClient[Litestar]


class ThroughFakes(Transactions[Any]):
    """The fake units of work, as the ``Transactions`` the route handlers are declared to take."""

    def __init__(self, units: FakeUnitsOfWork[Any]) -> None:
        self.units = units

    @contextmanager
    def begin(self) -> Iterator[Any]:
        with self.units.begin() as uow:
            yield uow

    @contextmanager
    def read(self) -> Iterator[Any]:
        with self.units.read() as uow:
            yield uow


@contextmanager
def client_for(
    route_handlers: list[Any], units: FakeUnitsOfWork[Any], settings: ServiceSettings | None = None
) -> Iterator[Client]:
    """A test client for ``route_handlers`` whose ``transactions`` are ``units`` and ``settings`` the service's
    settings object, with the services' error handling and API plugins."""
    app = Litestar(
        route_handlers=route_handlers,
        dependencies={
            "transactions": Provide(lambda: ThroughFakes(units), sync_to_thread=False),
            "settings": Provide(lambda: settings, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        plugins=api_plugins(),
    )
    with TestClient(app) as client:
        yield client
