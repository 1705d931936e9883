"""A login attempt, from the login form or ``POST /auth/token``: rate-limited per client address and per username,
its password checked in a worker thread with at most ``Gateway.password_checks`` hashes at once."""

from __future__ import annotations

import math
from typing import Any

import anyio.to_thread
from litestar import Request

from gateway import services
from gateway.entrypoints.context import Gateway
from gateway.ports import IssuedToken, TokenIssuer


class TooManyLogins(Exception):
    """The caller's address or the username has used its attempts; ``retry_after`` is in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many logins: try again in {retry_after} seconds")
        self.retry_after = retry_after


async def attempt_login(
    gateway: Gateway, issuer: TokenIssuer, request: Request[Any, Any, Any], username: str, password: str
) -> IssuedToken:
    """A token for ``username`` if ``password`` is theirs; ``services.BadCredentials`` if not; ``TooManyLogins``
    (no password checked) when over a limit."""
    address = request.client.host if request.client is not None else ""
    wait = gateway.login_buckets.take(address, username, gateway.monotonic())
    if wait > 0:
        raise TooManyLogins(math.ceil(wait))
    return await anyio.to_thread.run_sync(
        services.log_in,
        gateway.users,
        gateway.passwords,
        issuer,
        username,
        password,
        limiter=gateway.password_checks,
    )
