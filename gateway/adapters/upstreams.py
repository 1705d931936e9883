"""The services behind the gateway, called with httpx: streamed both ways, a timeout on every call."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from urllib.parse import quote

import httpx

from gateway.ports import UpstreamFailed, UpstreamRequest, UpstreamResponse

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding"}
    | {"upgrade", "host"}
)
"""Headers that describe one connection, not the message (RFC 9110 7.6.1): never forwarded either way."""
_PATH_SAFE = "/!$&'()*+,;=:@-._~"
"""RFC 3986's path characters, sent as they are; anything else is percent-encoded (``%`` itself too)."""

log = logging.getLogger(__name__)


class HttpUpstreams:
    """One connection pool per service; ``timeout`` bounds connecting, each read, each write and the pool wait."""

    def __init__(
        self,
        base_urls: Mapping[str, str],
        timeout: httpx.Timeout,
        max_connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._clients = {
            name: httpx.AsyncClient(
                base_url=url, timeout=timeout, limits=limits, follow_redirects=False, transport=transport
            )
            for name, url in base_urls.items()
        }

    async def send(self, request: UpstreamRequest) -> UpstreamResponse:
        """Forward ``request``; ``UpstreamFailed`` (503 refused, 504 timed out, 502 broken) if no answer came."""
        client = self._clients[request.service]
        # The path is the decoded one the access rules judged: encoded again, the service decodes the same path.
        path = quote(request.path, safe=_PATH_SAFE)
        outgoing = client.build_request(
            request.method,
            httpx.URL(path=path, query=request.query) if request.query else httpx.URL(path=path),
            headers=dict(request.headers),
            content=request.body,
        )
        try:
            response = await client.send(outgoing, stream=True)
        except httpx.TimeoutException as error:
            raise UpstreamFailed(request.service, 504, f"{request.service} did not answer in time") from error
        except httpx.ConnectError as error:
            raise UpstreamFailed(request.service, 503, f"{request.service} is not reachable") from error
        except httpx.HTTPError as error:  # its text may name internal addresses: the log gets it, not the caller
            log.warning("%s broke off: %s: %s", request.service, error.__class__.__name__, error)
            raise UpstreamFailed(request.service, 502, f"{request.service} broke off") from error
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in HOP_BY_HOP]
        return UpstreamResponse(response.status_code, headers, _body(request.service, response), response.aclose)

    async def aclose(self) -> None:
        """Close every pool (at shutdown)."""
        for client in self._clients.values():
            await client.aclose()


async def _body(service: str, response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.HTTPError as error:  # the status line is gone already: all that is left is to stop early
        log.warning("%s broke off its answer: %s: %s", service, error.__class__.__name__, error)
        raise UpstreamFailed(service, 502, f"{service} broke off its answer") from error
