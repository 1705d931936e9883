"""The benchmark's HTTP client never sends a request into a keep-alive connection the server has closed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bench.httpclient import HttpClient

IDLE_S = 0.05
"""How long the test server keeps an idle connection open (uvicorn: 5 s)."""


async def _poll(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the server did not close its idle connections"
        await asyncio.sleep(0.01)


def test_a_connection_the_server_closed_while_idle_is_not_used_again() -> None:
    closed: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_S)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            closed.append(1)

    async def scenario() -> list[int]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        client = HttpClient(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        statuses = [r.status for r in await asyncio.gather(*(client.request("GET", "/") for _ in range(3)))]
        await _poll(lambda: len(closed) == client.opened)  # every pooled connection is closed by the server now
        statuses += [(await client.request("GET", "/")).status for _ in range(2)]
        await client.close()
        server.close()
        await server.wait_closed()
        return statuses

    assert asyncio.run(scenario()) == [200, 200, 200, 200, 200]
