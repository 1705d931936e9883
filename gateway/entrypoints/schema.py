"""``GET /schema/openapi.json``: the gateway's whole public API, its own routes and the services' it forwards.

The document is composed ahead of time from the services' documents and the access rules (``python -m
tools.openapi generate``, checked by ``make lint``) and ships beside this package as ``gateway/openapi.json``: the
gateway cannot generate the services' parts itself, as no service imports another.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from litestar import Request
from litestar.enums import OpenAPIMediaType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin

from plumbing.wiring import openapi_config

DOCUMENT = "openapi.json"


class PublicApiDocument(OpenAPIRenderPlugin):
    """Serves the composed document where the other services serve their own (``/schema/openapi.json``)."""

    def __init__(self) -> None:
        super().__init__(path="/openapi.json", media_type=OpenAPIMediaType.OPENAPI_JSON)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The composed document (``openapi_schema``, Litestar's, covers the gateway's own routes only)."""
        return public_api_document()


@cache
def public_api_document() -> bytes:
    """The composed document as shipped in the package."""
    return (files("gateway") / DOCUMENT).read_bytes()


def gateway_openapi_config() -> OpenAPIConfig:
    """The gateway's OpenAPI identity; Litestar generates its own routes' part, which the tools compose from."""
    identity = openapi_config("gateway")
    return OpenAPIConfig(title=identity.title, version=identity.version, render_plugins=[PublicApiDocument()])
