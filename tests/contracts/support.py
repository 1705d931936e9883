"""Helpers shared by the contract tests."""

from __future__ import annotations

from contracts.base import Message, wire_type
from tools.contracts.compat import CompatReport, check_compat, latest_release
from tools.contracts.schemas import (
    ENVELOPE_NAME,
    ENVELOPE_SCHEMA_VERSION,
    generate_schemas,
    load_schema_dir,
    message_schema,
    schema_file_name,
)

BASELINE = latest_release()
ENVELOPE_FILE = schema_file_name(ENVELOPE_NAME, ENVELOPE_SCHEMA_VERSION)
"""The envelope's schema file name in a schema directory."""


def check_with(*changed: type[Message], drop: tuple[str, ...] = ()) -> CompatReport:
    """Check the current schemas, with ``changed`` Structs replacing (or adding) theirs, against the baseline."""
    current = generate_schemas()
    for name in drop:
        del current[name]
    for cls in changed:
        current[schema_file_name(wire_type(cls), cls.schema_version)] = message_schema(cls)
    return check_compat(current, load_schema_dir(BASELINE), baseline=f"released/{BASELINE.name}")
