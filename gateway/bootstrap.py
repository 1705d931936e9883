"""The gateway's composition root: the one place its adapters are chosen and wired."""

from __future__ import annotations

import gc
import hashlib
import logging
import time

import httpx
from anyio import CapacityLimiter
from sqlalchemy.engine import Engine

from gateway import services
from gateway.adapters.passwords import Argon2Passwords
from gateway.adapters.signing_key import signing_key
from gateway.adapters.tokens import JwtVerifier, LocalIssuer, local_keys, remote_keys
from gateway.adapters.upstreams import HttpUpstreams
from gateway.adapters.users import SqlUsers
from gateway.domain.rate_limit import Allowance, LoginBuckets, TokenBuckets
from gateway.entrypoints.context import Browser, Gateway
from gateway.entrypoints.http import create_app
from gateway.settings import GatewaySettings
from plumbing.db import create_db_engine
from plumbing.http import serve
from plumbing.logs import configure_logging
from plumbing.migrations import upgrade_to_head
from plumbing.tracing import configure_tracing

log = logging.getLogger(__name__)


def build_gateway(settings: GatewaySettings, engine: Engine) -> tuple[Gateway, HttpUpstreams]:
    """The gateway's parts as ``settings`` choose them: the local issuer, or an identity provider's key set."""
    skew = settings.gateway_clock_skew_s
    issuer_name, audience = settings.gateway_issuer, settings.gateway_audience
    if settings.gateway_jwks_url is not None:
        keys = remote_keys(settings.gateway_jwks_url, settings.gateway_connect_timeout_s, cache_s=300)
        verifier = JwtVerifier(keys, issuer_name, audience, skew, blocking=True)
        issuer, jwks, derived = None, None, None
    else:
        key = signing_key(settings.gateway_signing_key_file)
        if settings.gateway_signing_key_file is None:
            log.warning("no RV_GATEWAY_SIGNING_KEY_FILE: tokens are signed with a key that dies with this process")
        verifier = JwtVerifier(local_keys(key), issuer_name, audience, skew, blocking=False)
        issuer = LocalIssuer(key, issuer_name, audience, settings.gateway_token_ttl_s, time.time)
        jwks = {"keys": [key.public_jwk]}
        derived = hashlib.sha256(b"retrovault cart\n" + key.private.private_numbers().private_value.to_bytes(32, "big"))
    connect = settings.gateway_connect_timeout_s
    timeout = httpx.Timeout(settings.gateway_upstream_timeout_s, connect=connect, pool=connect)
    upstreams = HttpUpstreams(settings.upstream_urls(), timeout)
    allowance = Allowance(settings.gateway_orders_burst, settings.gateway_orders_per_minute)
    by_address = Allowance(settings.gateway_login_address_burst, settings.gateway_login_address_per_minute)
    by_username = Allowance(settings.gateway_login_user_burst, settings.gateway_login_user_per_minute)
    gateway = Gateway(
        users=SqlUsers(engine),
        passwords=Argon2Passwords(),
        issuer=issuer,
        verifier=verifier,
        jwks=jwks,
        upstreams=upstreams,
        order_buckets=TokenBuckets(allowance),
        login_buckets=LoginBuckets(TokenBuckets(by_address), TokenBuckets(by_username)),
        password_checks=CapacityLimiter(settings.gateway_password_checks),
        monotonic=time.monotonic,
        browser=_browser(settings, derived.digest() if derived else None),
    )
    return gateway, upstreams


def _browser(settings: GatewaySettings, derived_key: bytes | None) -> Browser:
    """The storefront's cookie settings; the cart's key: configured, derived from the signing key, or new."""
    secret = settings.gateway_cart_secret
    secure, demo = settings.gateway_secure_cookies, settings.gateway_demo_users
    if secret is not None:
        return Browser(hashlib.sha256(secret.get_secret_value().encode()).digest(), secure, demo)
    if derived_key is not None:
        return Browser(derived_key, secure, demo)
    return Browser(secure=secure, demo_logins=demo)


def main() -> None:
    """Run the gateway (``python -m gateway``)."""
    settings = GatewaySettings.load_or_exit()
    configure_logging(settings.service, settings.instance_id, settings.log_format, settings.log_level)
    configure_tracing(settings.service, settings.instance_id, export=settings.tracing)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per forwarded call would drown the log
    upgrade_to_head("gateway", settings.database_url)
    engine = create_db_engine(settings.database_url, pool_size=4)
    gateway, upstreams = build_gateway(settings, engine)
    if settings.gateway_demo_users:
        if added := services.seed_demo_logins(gateway.users, gateway.passwords):
            log.info("seeded demo logins: %s", ", ".join(added))
    elif removed := services.remove_demo_logins(gateway.users):
        log.warning("removed the demo logins (RV_GATEWAY_DEMO_USERS is false): %s", ", ".join(removed))
    app = create_app(gateway, engine, on_shutdown=[upstreams.aclose])
    gc.collect()
    gc.freeze()
    serve(app, settings)
