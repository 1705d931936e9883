"""A minimal OTLP/HTTP trace receiver for local runs and tests: keeps spans in memory, answers queries.

Not a collector for production (use the OpenTelemetry Collector, Jaeger or Tempo there; the services
speak plain OTLP/HTTP to any of them). It exists so the test suite can check, against the real
services, that one order gives one trace across all four.

- ``POST /v1/traces``: an OTLP ``ExportTraceServiceRequest`` (protobuf, optionally gzip).
- ``GET /traces/{trace_id}``: that trace's spans as JSON (``service``, ``name``, ``kind``, ids, attributes).

While it runs, every service started by ``infra.services`` exports to it. It is a
:class:`infra.component.Component` that keeps nothing on disk. CLI:
``python -m infra.trace_sink start|stop|kill|status|serve``; port ``RV_TRACE_SINK_PORT`` (default 14318).
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

from infra import component, state
from infra.process import Daemon

name: Final = "trace-sink"
DEFAULT_PORT = 14318
MAX_TRACES = 20_000
_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_DAEMON = Daemon(name)


def port() -> int:
    """``RV_TRACE_SINK_PORT`` or 14318."""
    return state.env_port("RV_TRACE_SINK_PORT", DEFAULT_PORT)


def endpoint() -> str:
    """The base URL services export to (``OTEL_EXPORTER_OTLP_ENDPOINT``)."""
    return f"http://127.0.0.1:{port()}"


def exporter_env() -> dict[str, str]:
    """Environment that points a service's exporter here, flushing spans quickly."""
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint(), "OTEL_BSP_SCHEDULE_DELAY": "200"}


# --------------------------------------------------------------------------
# the server


class _Store:
    """Spans by trace id, oldest traces dropped past ``MAX_TRACES``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._traces: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()

    def add(self, spans: list[dict[str, Any]]) -> None:
        with self._lock:
            for span in spans:
                self._traces.setdefault(span["trace_id"], []).append(span)
            while len(self._traces) > MAX_TRACES:
                self._traces.popitem(last=False)

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._traces.get(trace_id, []))


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind in ("string_value", "bool_value", "int_value", "double_value") else None


def decode_spans(body: bytes) -> list[dict[str, Any]]:
    """An OTLP export request's spans as plain dicts."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    {
                        "service": resource.get("service.name"),
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex() or None,
                        "name": span.name,
                        "kind": _KINDS.get(span.kind, str(span.kind)),
                        "start_ns": span.start_time_unix_nano,
                        "end_ns": span.end_time_unix_nano,
                        "attributes": {a.key: _value(a.value) for a in span.attributes},
                    }
                )
    return spans


def _handler(store: _Store) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/v1/traces":
                self._reply(404, {"error": "not found"})
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            try:
                store.add(decode_spans(body))
            except Exception as error:  # a malformed export must not take the sink down
                self._reply(400, {"error": str(error)})
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            if self.path == "/health":
                self._reply(200, {"status": "ok"})
            elif self.path.startswith("/traces/"):
                self._reply(200, store.trace(self.path.removeprefix("/traces/")))
            else:
                self._reply(404, {"error": "not found"})

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per export would drown the log

    return Handler


def serve() -> None:
    """Serve on 127.0.0.1 until killed."""
    server = ThreadingHTTPServer(("127.0.0.1", port()), _handler(_Store()))
    print(f"trace sink listening on {endpoint()}", flush=True)
    server.serve_forever()


# --------------------------------------------------------------------------
# the process


def is_running() -> bool:
    """True while our sink process is alive."""
    return _DAEMON.pid() is not None


def state_dir() -> Path | None:
    """None: the spans live in the sink's memory only."""
    return None


def _ready() -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint()}/health", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start(timeout_s: float = 20.0) -> None:
    """Start the sink (no-op if it runs) and wait until it answers."""
    if is_running():
        return
    child = _DAEMON.spawn([sys.executable, "-m", "infra.trace_sink", "serve"], env=os.environ, cwd=state.REPO_ROOT)
    _DAEMON.await_ready(child, _ready, timeout_s)


def stop() -> None:
    """Stop the sink (its spans are gone with it)."""
    _DAEMON.signal(signal.SIGTERM, 10.0)


def kill() -> None:
    """SIGKILL the sink (its spans are gone with it)."""
    _DAEMON.signal(signal.SIGKILL, 10.0)


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        serve()
    # This module as a Component (run with -m, it is ``__main__``, a copy that mypy cannot see as one).
    from infra import trace_sink  # noqa: PLW0406

    sys.exit(component.main(trace_sink))
