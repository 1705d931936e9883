"""How the dashboard's pages are rendered: Jinja2 templates in ``templates/``, through Litestar's engine.

Every value is autoescaped, an undefined name is an error, and ``{{ None }}`` shows as an em dash. The
live pages load htmx from ``HTMX_JS``, which the dashboard serves itself (nothing comes from elsewhere).
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template import TemplateConfig

from coordinator.entrypoints.dashboard_format import FILTERS, PATH
from plumbing import htmx

REFRESH_S = 5
"""How often a live part of a page asks for itself again."""
HTMX_JS = htmx.HTMX_JS
"""htmx: the one vendored copy (``plumbing/static``), which the storefront serves too."""


def _em_dash_for_none(value: object) -> object:
    return "—" if value is None else value


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,
        undefined=StrictUndefined,
        finalize=_em_dash_for_none,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.globals.update(path=PATH, refresh_s=REFRESH_S, htmx_src=f"{PATH}/static/{HTMX_JS.name}")
    return env


TEMPLATES = TemplateConfig(instance=JinjaTemplateEngine.from_environment(_environment()))
"""The coordinator's app is built with this as its ``template_config``."""
