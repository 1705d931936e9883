"""Structured JSON logs: one object per line, carrying the service, the order and saga being worked on and the trace."""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from plumbing.tracing import current_ids

_order_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("order_id", default=None)
_saga_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("saga_id", default=None)


@contextmanager
def about(*, order_id: str | None, saga_id: object | None) -> Iterator[None]:
    """Tag every log record inside the block with this order and saga."""
    order_token = _order_id.set(order_id)
    saga_token = _saga_id.set(str(saga_id) if saga_id is not None else None)
    try:
        yield
    finally:
        _order_id.reset(order_token)
        _saga_id.reset(saga_token)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object, naming the service and its instance."""

    def __init__(self, service: str, instance: str) -> None:
        super().__init__()
        self._service = service
        self._instance = instance

    def format(self, record: logging.LogRecord) -> str:
        """The record, its context and any exception, as JSON."""
        entry: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self._service,
            "instance": self._instance,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("order_id", _order_id), ("saga_id", _saga_id)):
            value = var.get()
            if value is not None:
                entry[key] = value
        ids = current_ids()
        if ids is not None:
            entry["trace_id"], entry["span_id"] = ids
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, instance: str, log_format: str = "json", level: str = "INFO") -> None:
    """JSON lines on stderr (``log_format`` "text" for plain lines, the service shown as ``<service>#<instance>``)
    from ``level`` up (``RV_LOG_FORMAT``, ``RV_LOG_LEVEL``); ``instance``: the settings' ``instance_id``."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter(service, instance))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service}#{instance} %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("stripe").setLevel(logging.WARNING)  # one INFO line per HTTP call otherwise
