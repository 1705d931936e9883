"""The one vendored copy of htmx, which the coordinator's dashboard and the gateway's storefront both serve."""

from __future__ import annotations

from pathlib import Path

HTMX_JS = Path(__file__).with_name("static") / "htmx-2.0.11.min.js"
"""htmx (zero-clause BSD), as published; its name carries its version, so browsers may keep it."""
