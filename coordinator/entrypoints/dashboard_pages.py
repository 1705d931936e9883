"""What the dashboard's action pages share: an HTML page nobody caches.

Every operator action is a plain form (no script needed): a GET asks "are you sure?" and shows what would
happen, its POST does it and redirects (303) to a page saying what happened, so a refresh does not post again.
The actor each records is the operator the gateway authenticated (``X-Authenticated-Subject``), else ``direct``.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import MediaType
from litestar.params import QueryParameter
from litestar.response import Template

Done = Annotated[str | None, QueryParameter(max_length=64)]
"""A query parameter naming what the last action was done to."""


def page(name: str, context: dict[str, Any], status_code: int = 200) -> Template:
    """An HTML page nobody caches."""
    return Template(
        name, context=context, status_code=status_code, media_type=MediaType.HTML, headers={"Cache-Control": "no-store"}
    )
