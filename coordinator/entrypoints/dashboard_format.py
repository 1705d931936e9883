"""Readable times, durations and links for the dashboard: what its templates' filters do to values (the
``retrovault`` CLI words a saga's wait with the same ``waiting_phrase``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlencode

PATH = "/dashboard"


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def when(at: datetime | None) -> str | None:
    """A timestamp as ``YYYY-MM-DD HH:MM:SS`` UTC (None stays None: the page shows an em dash)."""
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def clock(at: datetime) -> str:
    """A time of day with milliseconds, UTC."""
    return at.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3]


def millis(ms: float | None) -> str:
    """A duration in milliseconds, readable: ``640 ms``, ``1.25 s``, ``3 min 5 s``."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} min {seconds} s"


def since(start: datetime, end: datetime | None = None) -> str:
    """How long from ``start`` to ``end`` (now when None)."""
    return millis(max(((end or now()) - start).total_seconds() * 1000, 0.0))


def age(start: datetime) -> str:
    """How long ago ``start`` was, to the second: ``12 s``, ``3 min 5 s``."""
    seconds = max(round((now() - start).total_seconds()), 0)
    return f"{seconds} s" if seconds < 60 else millis(seconds * 1000.0)


def moment(at: datetime) -> str:
    """A time of day (UTC) when it is today, else the date and time."""
    at = at.astimezone(UTC)
    return at.strftime("%H:%M:%S") if at.date() == now().date() else at.strftime("%Y-%m-%d %H:%M:%S")


class Waits(Protocol):
    """What a saga view says about its wait (``SagaView``)."""

    waiting: bool
    waiting_on: str | None
    waiting_since: datetime | None
    resends: int


def waiting_phrase(on: str | None, since: datetime, resends: int) -> str:
    """``waiting on payment since 12:01:07, 14 re-sends``."""
    return f"waiting on {on or 'a reply'} since {moment(since)}, {resends} re-send" + ("" if resends == 1 else "s")


def waiting(saga: Waits) -> str | None:
    """The saga's wait in words (``waiting_phrase``), or None when it does not wait."""
    if not saga.waiting or saga.waiting_since is None:
        return None
    return waiting_phrase(saga.waiting_on, saga.waiting_since, saga.resends)


def link(path: str, params: dict[str, str | None]) -> str:
    """``path`` with the non-empty ``params`` as its query string."""
    return f"{path}?{query}" if (query := urlencode({k: v for k, v in params.items() if v})) else path


def order_link(order_id: str) -> str:
    """The dashboard narrowed to one order's sagas."""
    return link(PATH, {"order_id": order_id})


FILTERS = {
    "when": when,
    "clock": clock,
    "millis": millis,
    "since": since,
    "age": age,
    "order_link": order_link,
    "waiting": waiting,
}
"""Formatting the templates apply to values: ``{{ saga.created_at | when }}``."""
