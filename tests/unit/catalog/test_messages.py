"""Catalog's message handlers, routed as the consumer routes them, against fakes."""

from __future__ import annotations

from typing import Any

from catalog.entrypoints.messages import ROUTES
from contracts.base import Line
from contracts.catalog import ReleaseStock, ReserveStock, StockReleased, StockReserved, StockUnavailable
from contracts.envelope import Envelope
from contracts.topics import CATALOG_COMMANDS, SAGA_REPLIES
from plumbing.routing import single
from plumbing.unit_of_work import reply_id
from tests.unit.catalog.fakes import FakeCatalogUnitOfWork, product
from tests.unit.fakes import command


def apply(uow: FakeCatalogUnitOfWork, envelope: Envelope[Any]) -> None:
    single(ROUTES[CATALOG_COMMANDS.name][envelope.type])(uow, envelope)


def test_reserve_stock_replies_to_its_command() -> None:
    uow = FakeCatalogUnitOfWork([product("NES-SMB3", stock=1)])
    first = command(ReserveStock(order_id="o1", lines=[Line(sku="NES-SMB3", quantity=1)]))
    second = command(ReserveStock(order_id="o2", lines=[Line(sku="NES-SMB3", quantity=1)]))
    apply(uow, first)
    apply(uow, second)
    assert [type(r) for r in uow.replies] == [StockReserved, StockUnavailable]
    replies = [s.envelope for s in uow.sent if s.topic == SAGA_REPLIES.name]
    assert [r.message_id for r in replies] == [reply_id(first.message_id), reply_id(second.message_id)]
    assert [r.saga_id for r in replies] == [first.saga_id, second.saga_id]
    assert [r.causation_id for r in replies] == [first.message_id, second.message_id]


def test_release_stock_replies_stock_released() -> None:
    uow = FakeCatalogUnitOfWork([product("NES-SMB3", stock=1)])
    apply(uow, command(ReleaseStock(order_id="o1")))
    assert uow.replies == [StockReleased(order_id="o1")]


def test_catalog_routes_exactly_its_two_commands() -> None:
    assert {topic: set(types) for topic, types in ROUTES.items()} == {
        CATALOG_COMMANDS.name: {"ReserveStock", "ReleaseStock"}
    }
