"""The headers every answer of the gateway carries (its own pages, its API, the services' answers it forwards):
no other site may frame them (clickjacking) and browsers must not guess a body's type."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    # Only framing is ruled: scripts and styles stay as the pages load them (htmx included).
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


async def add_security_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: set the headers on the start of every HTTP answer (a service's own copy is replaced)."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        for name, value in SECURITY_HEADERS.items():
            headers[name] = value
