"""Access tokens the local stack's gateway accepts, signed with its key, for any subject: the benchmark's and the
tests' simulated customers (the demo logins cover only a few people)."""

from __future__ import annotations

import time
from pathlib import Path

from gateway.adapters.signing_key import signing_key
from gateway.adapters.tokens import LocalIssuer
from gateway.domain.principals import Role
from gateway.ports import IssuedToken
from gateway.settings import GatewaySettings
from infra.state import state_dir


def key_file() -> Path:
    """The gateway's signing key: ``RV_GATEWAY_SIGNING_KEY_FILE``, else the one the local stack gives it."""
    return GatewaySettings.load().gateway_signing_key_file or state_dir() / "gateway" / "signing-key.pem"


class LocalTokens:
    """Signs tokens as the local gateway's issuer would (same key, issuer, audience and lifetime)."""

    def __init__(self) -> None:
        settings, path = GatewaySettings.load(), key_file()
        if not path.exists():  # signing_key() would make a new key the gateway does not know
            raise FileNotFoundError(f"no gateway signing key at {path}: start the stack first")
        self._issuer = LocalIssuer(
            signing_key(path),
            settings.gateway_issuer,
            settings.gateway_audience,
            settings.gateway_token_ttl_s,
            time.time,
        )

    def issue(self, subject: str, role: str = "customer") -> IssuedToken:
        """A token naming ``subject`` with ``role`` (``customer`` or ``operator``)."""
        return self._issuer.issue(subject, Role(role))
