"""Tokens: the local issuer's verify, and every way a token is refused (expired, tampered, another audience,
issuer or key, no signature, a shared-secret signature made with the public key)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from gateway.adapters.signing_key import signing_key
from gateway.adapters.tokens import JwtVerifier, local_keys, remote_keys
from gateway.domain.principals import Principal, Role
from gateway.ports import InvalidToken
from tests.unit.gateway.fakes import AUDIENCE, ISSUER, KEY, SKEW_S, TTL_S, Clock, issuer

VERIFIER = JwtVerifier(local_keys(KEY), ISSUER, AUDIENCE, SKEW_S, blocking=False)


def _refused(token: str) -> str:
    with pytest.raises(InvalidToken) as refused:
        VERIFIER.verify(token)
    return str(refused.value)


def test_a_fresh_token_names_its_subject_and_role() -> None:
    token = issuer(Clock()).issue("ada", Role.CUSTOMER)
    assert token.expires_in == TTL_S
    assert VERIFIER.verify(token.access_token) == Principal("ada", Role.CUSTOMER)
    assert jwt.get_unverified_header(token.access_token) == {"alg": "ES256", "kid": KEY.kid, "typ": "JWT"}


def test_expiry_allows_the_clock_skew_and_no_more() -> None:
    within = Clock(time.time() - TTL_S - SKEW_S + 5)
    assert VERIFIER.verify(issuer(within).issue("ada", Role.CUSTOMER).access_token).subject == "ada"
    past = Clock(time.time() - TTL_S - SKEW_S - 5)
    assert _refused(issuer(past).issue("ada", Role.CUSTOMER).access_token) == "the token has expired"


def test_a_token_from_the_future_is_refused() -> None:
    future = Clock(time.time() + SKEW_S + 60)
    assert "not yet valid" in _refused(issuer(future).issue("ada", Role.CUSTOMER).access_token)


def test_a_tampered_payload_breaks_the_signature() -> None:
    header, payload, signature = issuer(Clock()).issue("ada", Role.CUSTOMER).access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "operator"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert "Signature verification failed" in _refused(f"{header}.{forged}.{signature}")


def test_another_audience_or_issuer_is_refused() -> None:
    other_audience = issuer(Clock(), audience="someone-else").issue("ada", Role.CUSTOMER).access_token
    assert _refused(other_audience) == "the token is not valid: Audience doesn't match"
    other_issuer = issuer(Clock(), issuer_name="evil").issue("ada", Role.CUSTOMER).access_token
    assert _refused(other_issuer) == "the token is not valid: Invalid issuer"


def test_another_key_is_refused_even_with_our_key_id() -> None:
    other = signing_key(None)
    unknown = issuer(Clock(), key=other).issue("ada", Role.CUSTOMER).access_token
    assert _refused(unknown) == "signed with an unknown key"
    claims = jwt.decode(unknown, options={"verify_signature": False})
    posing = jwt.encode(claims, other.private, algorithm="ES256", headers={"kid": KEY.kid})
    assert "Signature verification failed" in _refused(posing)


def test_unsigned_and_shared_secret_tokens_are_refused() -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "eve", "role": "operator", "iat": now, "exp": now + 60}
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": KEY.kid})
    assert "not valid" in _refused(unsigned)
    public_pem = KEY.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": KEY.kid}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    mac = hmac.new(public_pem, header + b"." + body, hashlib.sha256).digest()
    confused = b".".join([header, body, base64.urlsafe_b64encode(mac).rstrip(b"=")]).decode()
    assert "not valid" in _refused(confused)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "🙂.🙂.🙂"])
def test_malformed_tokens_are_refused(garbage: str) -> None:
    assert _refused(garbage).startswith("the token is not valid")


def test_a_token_naming_no_key_is_refused() -> None:
    assert _refused("e30.e30.") == "signed with an unknown key"


def test_a_token_without_a_subject_or_role_is_refused() -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ada", "iat": now, "exp": now + 60}
    no_role = jwt.encode(claims, KEY.private, algorithm="ES256", headers={"kid": KEY.kid})
    assert "`role`" in _refused(no_role)
    del claims["sub"]
    no_subject = jwt.encode({**claims, "role": "customer"}, KEY.private, algorithm="ES256", headers={"kid": KEY.kid})
    assert "sub" in _refused(no_subject)


def test_the_key_file_is_made_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "gateway" / "signing-key.pem"
    first = signing_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert signing_key(path).kid == first.kid
    assert list(path.parent.iterdir()) == [path]


def test_a_key_set_that_cannot_be_fetched_is_refused_without_saying_where_it_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as closed:  # a port nothing listens on: the fetch is refused at once
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/jwks.json"
    verifier = JwtVerifier(remote_keys(url, 1.0, cache_s=300), ISSUER, AUDIENCE, SKEW_S, blocking=True)
    with pytest.raises(InvalidToken) as refused:
        verifier.verify(issuer(Clock()).issue("ada", Role.CUSTOMER).access_token)
    assert str(refused.value) == "the identity provider's key set could not be fetched"
    assert url in caplog.text
