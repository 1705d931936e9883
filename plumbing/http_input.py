"""The input guard: HTTP input no column can store is refused, naming the field, before any handler runs.

PostgreSQL's text cannot hold a NUL character, and an index entry holds at most about 2.7 kB, so a NUL or an
over-long value that reached a query would be a 500. Route signatures document each parameter's own maximum;
this guard is the floor under all of them, for every service's routes at once.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.config.app import AppConfig
from litestar.exceptions import ImproperlyConfiguredException
from litestar.plugins import InitPlugin

from plumbing.http import NUL_REFUSED, FieldProblem, decode_json

MAX_PARAMETER_CHARS = 255
"""The longest path or query value any route takes (at 4 bytes a character, still well inside an index entry)."""


def _refuse_unstorable_parameter(name: str, value: str) -> None:
    """A 400 ``FieldProblem`` naming the path or query parameter when its value holds a NUL or is over-long."""
    if "\x00" in value:
        raise FieldProblem(name, NUL_REFUSED, status_code=400)
    if len(value) > MAX_PARAMETER_CHARS:
        raise FieldProblem(name, f"is longer than {MAX_PARAMETER_CHARS} characters", status_code=400)


async def refuse_unstorable_input(request: Request[Any, Any, Any]) -> None:
    """Check the path parameters, every query value and, for a route that takes a body, the JSON body.

    Runs before Litestar parses the handler's arguments: its own body decoding would let a nesting too deep
    for msgspec (RecursionError) or invalid UTF-8 (UnicodeDecodeError) escape as a 500.
    """
    for name, value in request.path_params.items():
        if isinstance(value, str):
            _refuse_unstorable_parameter(name, value)
    for name, value in request.query_params.multi_items():
        _refuse_unstorable_parameter(name, value)
    if "data" in request.route_handler.parsed_fn_signature.parameters:
        decode_json(await request.body())


class InputGuard(InitPlugin):
    """Installs ``refuse_unstorable_input`` as the app's ``before_request`` hook.

    Litestar runs only the closest layer's hook, so a controller or route must not set one of its own.
    """

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Set the hook (an app that already has one is a mistake: one of the two would never run)."""
        if app_config.before_request is not None:
            raise ImproperlyConfiguredException("the input guard is the app's before_request hook; it has one")
        app_config.before_request = refuse_unstorable_input
        return app_config
