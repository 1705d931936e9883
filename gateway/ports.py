"""What the gateway's use cases need from the outside world: its users, password hashing, tokens, upstreams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from gateway.domain.principals import Principal, Role
from gateway.domain.users import User


class Users(Protocol):
    """The users table."""

    def find(self, username: str) -> User | None:
        """The user called ``username``, or None."""
        ...

    def add_if_missing(self, user: User) -> bool:
        """Store ``user`` unless one with that name exists; True if it was added."""
        ...

    def remove(self, username: str) -> bool:
        """Delete the user called ``username``; True if there was one."""
        ...


class Passwords(Protocol):
    """A slow, salted password hash (argon2id)."""

    def hash(self, password: str) -> str:
        """The encoded hash of ``password`` (algorithm, parameters and salt included)."""
        ...

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``."""
        ...


@dataclass(frozen=True)
class IssuedToken:
    """A signed access token and how many seconds it is valid for."""

    access_token: str
    expires_in: int


class InvalidToken(Exception):
    """The token is missing a part, expired, not yet valid, for another audience or issuer, or badly signed."""


class TokenIssuer(Protocol):
    """Signs access tokens (the local issuer; a real identity provider signs its own)."""

    def issue(self, subject: str, role: Role) -> IssuedToken:
        """A token naming ``subject`` and ``role``, for the configured issuer and audience."""
        ...


class TokenVerifier(Protocol):
    """Checks a token's signature against the configured key set, its issuer, audience and lifetime."""

    def verify(self, token: str) -> Principal:
        """The caller the token names; ``InvalidToken`` saying why it is refused."""
        ...


@dataclass(frozen=True)
class UpstreamRequest:
    """A call to forward: the service it goes to, and what to send it."""

    service: str
    method: str
    path: str
    query: bytes
    headers: Mapping[str, str]
    body: AsyncIterator[bytes] | bytes


@dataclass
class UpstreamResponse:
    """An upstream's answer, its body still streaming (``close`` when done with it)."""

    status: int
    headers: list[tuple[str, str]]
    body: AsyncIterator[bytes]
    close: Callable[[], Awaitable[None]]
    """Release the connection (also when the body was not read to the end)."""

    async def read(self) -> bytes:
        """The whole body (for the small answers the gateway inspects)."""
        return b"".join([chunk async for chunk in self.body])


class UpstreamFailed(Exception):
    """The upstream could not be reached (``status`` 503), timed out (504) or answered nonsense (502)."""

    def __init__(self, service: str, status: int, detail: str) -> None:
        super().__init__(detail)
        self.service = service
        self.status = status


class Upstreams(Protocol):
    """The services behind the gateway."""

    async def send(self, request: UpstreamRequest) -> UpstreamResponse:
        """Forward ``request``; ``UpstreamFailed`` when no answer came. The caller closes the response."""
        ...
