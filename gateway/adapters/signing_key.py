"""The local issuer's signing key: an ECDSA P-256 key (ES256) kept in a PEM file, made on first start."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ALGORITHM = "ES256"


@dataclass(frozen=True)
class SigningKey:
    """The private key, its public half as a JWK, and its key id (the JWK's RFC 7638 thumbprint)."""

    private: ec.EllipticCurvePrivateKey
    kid: str
    public_jwk: dict[str, Any]

    @property
    def public(self) -> ec.EllipticCurvePublicKey:
        """The public key tokens are verified with."""
        return self.private.public_key()


def signing_key(path: Path | None) -> SigningKey:
    """The key in ``path``, made (mode 0600) if the file does not exist; None: a key in memory only, so tokens
    do not outlive the process and other instances cannot verify them."""
    if path is None:
        return _described(ec.generate_private_key(ec.SECP256R1()))
    if not path.exists():
        _create(path)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey) or loaded.curve.name != "secp256r1":
        raise ValueError(f"{path}: not an ECDSA P-256 private key")
    return _described(loaded)


def _create(path: Path) -> None:
    """Write a new key beside ``path`` and link it into place: of instances starting at once, one key wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")
    try:
        os.write(handle, pem)
        os.close(handle)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def _b64(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode()


def _described(private: ec.EllipticCurvePrivateKey) -> SigningKey:
    numbers = private.public_key().public_numbers()
    members = {"crv": "P-256", "kty": "EC", "x": _b64(numbers.x), "y": _b64(numbers.y)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return SigningKey(private, kid, {**members, "kid": kid, "alg": ALGORITHM, "use": "sig"})
