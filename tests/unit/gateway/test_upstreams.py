"""The httpx adapter: what it sends, what it streams back, and how a failed call is classified."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import anyio
import httpx
import pytest

from gateway.adapters.upstreams import HttpUpstreams
from gateway.ports import UpstreamFailed, UpstreamRequest


class Streamed(httpx.AsyncByteStream):
    """A body that arrives in two chunks (a ``bytes`` body would be read at once)."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"ok"'
        yield b":1}"


class Handler(httpx.AsyncBaseTransport):
    """Answers with ``handle`` and, unlike ``httpx.MockTransport``, leaves the answer's body unread."""

    def __init__(self, handle: Callable[[httpx.Request], httpx.Response]) -> None:
        self._handle = handle

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self._handle(request)


def _upstreams(handler: Handler) -> HttpUpstreams:
    return HttpUpstreams({"orders": "http://orders.test"}, httpx.Timeout(1.0), transport=handler)


async def _chunks() -> AsyncIterator[bytes]:
    yield b'{"items": '
    yield b"[]}"


def test_the_request_goes_out_as_given_and_the_answer_streams_back() -> None:
    seen: list[httpx.Request] = []
    bodies: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        bodies.append(request.content)
        return httpx.Response(202, headers={"Location": "/orders/o-1", "Connection": "close"}, stream=Streamed())

    async def call() -> tuple[int, list[tuple[str, str]], bytes]:
        upstreams = _upstreams(Handler(answer))
        request = UpstreamRequest("orders", "POST", "/orders", b"a=1&b=2", {"X-Request-Id": "r-1"}, _chunks())
        response = await upstreams.send(request)
        body = await response.read()
        await response.close()
        await upstreams.aclose()
        return response.status, response.headers, body

    status, headers, body = anyio.run(call)
    assert (status, body) == (202, b'{"ok":1}')
    assert ("location", "/orders/o-1") in headers and all(k != "connection" for k, _ in headers)
    sent = seen[0]
    assert (sent.method, str(sent.url), sent.headers["x-request-id"]) == (
        "POST",
        "http://orders.test/orders?a=1&b=2",
        "r-1",
    )
    assert bodies == [b'{"items": []}']


@pytest.mark.parametrize(
    ("decoded", "sent"),
    [
        ("/sagas/\x1e\t#?", "/sagas/%1E%09%23%3F"),
        ("/orders/é 100%", "/orders/%C3%A9%20100%25"),
        ("/orders/a/b", "/orders/a/b"),
        ("/products/SNES-SMW/stock-adjustments", "/products/SNES-SMW/stock-adjustments"),
    ],
)
def test_the_decoded_path_goes_out_encoded_as_the_service_will_decode_it(decoded: str, sent: str) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404)

    async def call() -> None:
        upstreams = _upstreams(Handler(answer))
        response = await upstreams.send(UpstreamRequest("orders", "GET", decoded, b"", {}, b""))
        await response.close()
        await upstreams.aclose()

    anyio.run(call)
    assert seen[0].url.raw_path.decode() == sent


@pytest.mark.parametrize(
    ("error", "status", "detail"),
    [
        (httpx.ConnectError("refused"), 503, "orders is not reachable"),
        (httpx.ConnectTimeout("slow"), 504, "orders did not answer in time"),
        (httpx.ReadTimeout("slow"), 504, "orders did not answer in time"),
        (httpx.RemoteProtocolError("garbage from http://10.0.0.7:8102"), 502, "orders broke off"),
    ],
)
def test_a_failed_call_is_classified(error: Exception, status: int, detail: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    async def call() -> None:
        upstreams = _upstreams(Handler(fail))
        await upstreams.send(UpstreamRequest("orders", "GET", "/orders/o-1", b"", {}, b""))

    with pytest.raises(UpstreamFailed) as failed:
        anyio.run(call)
    assert (failed.value.status, str(failed.value), failed.value.service) == (status, detail, "orders")
