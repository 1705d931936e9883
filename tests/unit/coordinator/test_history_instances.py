"""The timeline names who did each step: a reply's entry the participant instance that wrote the reply (its
``rv-instance`` header, read in the reply's scope); the other entries name none."""

from __future__ import annotations

from typing import Any

from contracts.catalog import StockReserved
from contracts.codecs import Codec
from contracts.envelope import Envelope
from contracts.topics import SAGA_REPLIES
from coordinator import services
from coordinator.entrypoints.messages import REPLIES
from plumbing.routing import Decoded, scopes
from plumbing.senders import INSTANCE_HEADER
from tests.samples import placed
from tests.unit.coordinator.fakes import FakeCoordinatorUnitOfWork, reply_to
from tests.unit.plumbing.fakes import kafka_message


def consumed(envelope: Envelope[Any], headers: list[tuple[str, bytes | None]]) -> Decoded[Any]:
    """The reply as the consumer hands it over: the raw message (with ``headers``) and its handler."""
    raw = kafka_message(SAGA_REPLIES.name, Codec.encode(envelope), headers=headers)
    return Decoded(raw, envelope, REPLIES)


def test_a_reply_entry_names_the_instance_that_wrote_the_reply_and_the_command_it_sends_names_none() -> None:
    uow = FakeCoordinatorUnitOfWork()
    first, second = services.start_saga(uow, placed("o1")), services.start_saga(uow, placed("o2"))
    assert first is not None and second is not None
    items = [
        consumed(reply_to(uow.sagas.rows[first.saga_id], StockReserved(order_id="o1")), [(INSTANCE_HEADER, b"cat-2")]),
        consumed(reply_to(uow.sagas.rows[second.saga_id], StockReserved(order_id="o2")), []),
    ]
    uow.sagas.history.clear()

    services.apply_replies(uow, [item.envelope for item in items], scopes(items))

    named = [(e.saga_id, e.kind, e.participant_instance) for e in uow.sagas.history]
    assert named == [
        (first.saga_id, "reply_received", "cat-2"),
        (first.saga_id, "command_sent", None),
        (second.saga_id, "reply_received", None),  # written before instances were named
        (second.saga_id, "command_sent", None),
    ]


def test_a_header_that_is_no_instance_id_is_not_believed() -> None:
    uow = FakeCoordinatorUnitOfWork()
    saga = services.start_saga(uow, placed("o1"))
    assert saga is not None
    hostile = consumed(
        reply_to(uow.sagas.rows[saga.saga_id], StockReserved(order_id="o1")), [(INSTANCE_HEADER, b"\x00x")]
    )
    uow.sagas.history.clear()

    services.apply_replies(uow, [hostile.envelope], scopes([hostile]))

    assert [(e.kind, e.participant_instance) for e in uow.sagas.history] == [
        ("reply_received", None),
        ("command_sent", None),
    ]
