"""Access tokens as JWTs (PyJWT): signed by the local issuer, verified against the local key or a JWKS URL."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import jwt

from gateway.adapters.signing_key import ALGORITHM, SigningKey
from gateway.domain.principals import Principal, Role
from gateway.ports import InvalidToken, IssuedToken

ASYMMETRIC = ("ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA")
"""What a key set may sign with: never ``none`` nor a shared secret (HS*), which a public key would forge."""
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]

log = logging.getLogger(__name__)


class LocalIssuer:
    """Signs tokens with the local key for ``issuer`` and ``audience``, valid ``ttl_s`` seconds."""

    def __init__(self, key: SigningKey, issuer: str, audience: str, ttl_s: int, clock: Callable[[], float]) -> None:
        self._key, self._issuer, self._audience, self._ttl_s, self._clock = key, issuer, audience, ttl_s, clock

    def issue(self, subject: str, role: Role) -> IssuedToken:
        """A token naming ``subject`` and ``role``."""
        now = int(self._clock())
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": subject,
            "role": role.value,
            "iat": now,
            "nbf": now,
            "exp": now + self._ttl_s,
        }
        token = jwt.encode(claims, self._key.private, algorithm=ALGORITHM, headers={"kid": self._key.kid})
        return IssuedToken(token, self._ttl_s)


KeyLookup = Callable[[str], tuple[Any, str]]
"""The verification key and its algorithm for a token (read from its header); ``InvalidToken`` if none."""


def local_keys(key: SigningKey) -> KeyLookup:
    """Only the local key verifies (a token naming another ``kid`` is refused)."""

    def lookup(token: str) -> tuple[Any, str]:
        if jwt.get_unverified_header(token).get("kid") != key.kid:
            raise InvalidToken("signed with an unknown key")
        return key.public, ALGORITHM

    return lookup


def remote_keys(jwks_url: str, timeout_s: float, cache_s: int) -> KeyLookup:
    """The identity provider's key set at ``jwks_url`` (fetched when a token names a ``kid`` not cached)."""
    client = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=cache_s, timeout=int(max(1, timeout_s)))

    def lookup(token: str) -> tuple[Any, str]:
        try:
            found = client.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as error:
            # The caller learns only that it failed: the provider's address and the network error are for the log.
            log.warning("the identity provider's key set at %s could not be fetched: %s", jwks_url, error)
            raise InvalidToken("the identity provider's key set could not be fetched") from error
        except jwt.PyJWKClientError as error:
            log.info("a token's key is not in the identity provider's key set: %s", error)
            raise InvalidToken("signed with an unknown key") from error
        return found.key, found.algorithm_name

    return lookup


class JwtVerifier:
    """Verifies signature, ``iss``, ``aud``, ``exp``/``nbf`` (with ``leeway_s`` of clock skew) and the claims the
    gateway needs (``sub``, ``role``)."""

    def __init__(self, keys: KeyLookup, issuer: str, audience: str, leeway_s: float, *, blocking: bool) -> None:
        self._keys, self._issuer, self._audience, self._leeway_s = keys, issuer, audience, leeway_s
        self.blocking = blocking
        """Whether ``verify`` may wait on the network (a key set to fetch): then call it from a thread."""

    def verify(self, token: str) -> Principal:
        """The caller the token names; ``InvalidToken`` saying why it is refused."""
        try:
            key, algorithm = self._keys(token)
            if algorithm not in ASYMMETRIC:
                raise InvalidToken(f"algorithm {algorithm!r} is not accepted")
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway_s,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("the token has expired") from error
        except jwt.InvalidTokenError as error:
            raise InvalidToken(f"the token is not valid: {error}") from error
        subject, role = claims.get("sub"), claims.get("role")
        if not isinstance(subject, str) or not subject or len(subject) > 64 or not isinstance(role, str):
            raise InvalidToken("the token is not valid: `sub` and `role` must be strings")
        return Principal.of(subject, role)
