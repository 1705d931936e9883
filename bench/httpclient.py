"""A tiny HTTP/1.1 client on asyncio streams with keep-alive connections, for 127.0.0.1 only.

The load generator must not be the bottleneck on a 2-core box: a general-purpose client costs
about a millisecond of CPU per request, this one a small fraction of that. It speaks just enough
HTTP/1.1 for JSON APIs: ``Content-Length`` or chunked bodies, ``Connection: close``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class HttpResponse:
    """Status and body of one response."""

    status: int
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.reusable = True

    def close(self) -> None:
        self.reusable = False
        with contextlib.suppress(Exception):
            self.writer.close()


class HttpClient:
    """Keep-alive connections to one ``http://127.0.0.1:<port>`` server; a new one whenever all are busy.

    ``max_connections`` bounds how many exist at once; beyond it a request waits for a free one.
    """

    def __init__(self, base_url: str, *, max_connections: int = 512, timeout_s: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname not in (LOOPBACK, "localhost") or parts.port is None:
            raise ValueError(f"the benchmark only talks to http://127.0.0.1:<port>, not {base_url!r}")
        self._port = parts.port
        self._host_header = f"{LOOPBACK}:{parts.port}"
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max_connections)
        self._timeout_s = timeout_s
        self.opened = 0

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> HttpResponse:
        """Send one request (a JSON body if ``body`` is not None; ``headers`` besides) and read the whole response."""
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self._host_header}\r\nContent-Length: {len(payload)}\r\n"
            + ("Content-Type: application/json\r\n" if body is not None else "")
            + "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
            + "\r\n"
        ).encode()
        async with self._slots:
            conn = self._reused() or await self._open()
            try:
                conn.writer.write(head + payload)
                response = await asyncio.wait_for(self._read(conn), self._timeout_s)
            except BaseException:
                conn.close()
                raise
            if conn.reusable:
                self._idle.append(conn)
            return response

    async def close(self) -> None:
        """Close every idle connection."""
        for conn in self._idle:
            conn.close()
        self._idle.clear()

    def _reused(self) -> _Connection | None:
        """The most recently used idle connection the server has not closed meanwhile, if any.

        A server closes a keep-alive connection idle for a few seconds (uvicorn after 5 s); one taken from the
        pool after that would carry the request into a closed socket and end without an answer.
        """
        while self._idle:
            conn = self._idle.pop()
            if not (conn.reader.at_eof() or conn.writer.is_closing()):
                return conn
            conn.close()
        return None

    async def _open(self) -> _Connection:
        reader, writer = await asyncio.open_connection(LOOPBACK, self._port)
        self.opened += 1
        return _Connection(reader, writer)

    @staticmethod
    async def _read(conn: _Connection) -> HttpResponse:
        head = await conn.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if headers.get("connection", "").lower() == "close":
            conn.reusable = False
        if "content-length" in headers:
            body = await conn.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await _read_chunked(conn.reader)
        else:
            body = await conn.reader.read()
            conn.reusable = False
        if not conn.reusable:
            conn.close()
        return HttpResponse(status, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
