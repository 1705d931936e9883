"""The gateway's Litestar app: its own routes (log in, key set, health) and the front door to the services."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from litestar import Litestar, Response, get
from litestar.di import Provide
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from sqlalchemy.engine import Engine

from gateway.entrypoints.auth import AUTH_ROUTES
from gateway.entrypoints.context import Gateway
from gateway.entrypoints.proxy import forward
from gateway.entrypoints.schema import gateway_openapi_config
from gateway.entrypoints.security_headers import add_security_headers
from gateway.entrypoints.storefront_routes import STOREFRONT_ROUTES
from plumbing.http import EXCEPTION_HANDLERS, MAX_BODY_BYTES
from plumbing.tracing import shutdown_tracing
from plumbing.wiring import UNTRACED_PATHS, api_plugins


def health_route(engine: Engine) -> Any:
    """``GET /health``: 200 when the gateway's database (its users) answers, else 503 with the ``reason``.

    The services behind it have health checks of their own; a service that is down is a 503 on its routes.
    """

    @get("/health", sync_to_thread=True, include_in_schema=False)
    def health() -> Response[dict[str, Any]]:
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as error:
            body = {"status": "unavailable", "reason": f"database unavailable: {error.__class__.__name__}"}
            return Response(body, status_code=503)
        return Response({"status": "ok", "reason": None, "database": "ok"}, status_code=200)

    return health


def create_app(gateway: Gateway, engine: Engine | None, on_shutdown: list[Any] | None = None) -> Litestar:
    """The gateway's app; ``engine`` None leaves out ``/health`` (unit tests with fakes)."""
    own = [*AUTH_ROUTES, *STOREFRONT_ROUTES, forward]
    return Litestar(
        route_handlers=[*own, health_route(engine)] if engine is not None else own,
        dependencies={"gateway": Provide(lambda: gateway, use_cache=True, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[add_security_headers],
        request_max_body_size=MAX_BODY_BYTES,
        on_shutdown=[*(on_shutdown or []), shutdown_tracing],
        openapi_config=gateway_openapi_config(),
        plugins=[
            *api_plugins(),
            OpenTelemetryPlugin(OpenTelemetryConfig(exclude=UNTRACED_PATHS, exclude_spans=["receive", "send"])),
        ],
        logging_config=None,
    )
