"""The storefront's static files: its stylesheet and htmx (the one vendored copy, in ``plumbing/static``)."""

from __future__ import annotations

from pathlib import Path

from litestar import Response, get

from plumbing.htmx import HTMX_JS

STYLESHEET = Path(__file__).parent.parent / "static" / "storefront.css"
_CACHED = {"Cache-Control": "public, max-age=300"}


@get("/static/storefront.css", include_in_schema=False, sync_to_thread=False)
def stylesheet() -> Response[bytes]:
    """The storefront's one stylesheet."""
    return Response(STYLESHEET.read_bytes(), media_type="text/css", headers=_CACHED)


@get(f"/static/{HTMX_JS.name}", include_in_schema=False, sync_to_thread=False)
def htmx() -> Response[bytes]:
    """htmx, which the live parts of the pages use (its name carries its version, so browsers may keep it)."""
    return Response(
        HTMX_JS.read_bytes(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


STATIC_ROUTES = [stylesheet, htmx]
