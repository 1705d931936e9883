"""JSON Schemas generated from the message Structs: one document per message type and version, plus the envelope.

Every version a service reads is there: the current class of each type, and each retired version registered in
``contracts/retired/``.

The Structs are the source of truth; these documents are derived from them with ``msgspec.json.schema`` and
written to ``contracts/generated/schemas/`` by ``python -m tools.contracts generate``. Output is deterministic:
sorted keys, two-space indentation, a trailing newline, and docstrings cleaned the same way on every Python.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import msgspec

import contracts
from contracts.base import Message, Retired, wire_type
from contracts.codecs import all_message_types
from contracts.envelope import Envelope
from contracts.retired import RETIRED

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

ENVELOPE_NAME = "Envelope"
ENVELOPE_SCHEMA_VERSION = 2
"""The envelope's version. It is not on the wire: a breaking envelope change needs a migration plan (see docs).

v2 (contracts v3) bounds ``type`` and ``correlation_id``; no envelope any producer wrote exceeds them."""

CONTRACTS_DIR = Path(contracts.__file__).resolve().parent
"""The ``contracts`` package: the generated and released artefacts live beside the messages they describe."""
GENERATED_DIR = CONTRACTS_DIR / "generated"
SCHEMAS_DIR = GENERATED_DIR / "schemas"
RELEASED_DIR = CONTRACTS_DIR / "released"

JsonSchema = dict[str, Any]
REGENERATE = "python -m tools.contracts generate"


def schema_file_name(name: str, version: int) -> str:
    """``<Type>.v<schema_version>.json``."""
    return f"{name}.v{version}.json"


def parse_file_name(file_name: str) -> tuple[str, int]:
    """The message name and schema version a schema file is for (the inverse of ``schema_file_name``)."""
    stem = file_name.removesuffix(".json")
    name, _, version = stem.rpartition(".v")
    if not name or not version.isdigit() or not file_name.endswith(".json"):
        raise ValueError(f"not a schema file name (<Type>.v<N>.json): {file_name!r}")
    return name, int(version)


def clean_descriptions(node: Any) -> Any:
    """Docstrings become descriptions; dedent them (Python 3.13+ does so at compile time, older ones do not)."""
    if isinstance(node, dict):
        return {
            key: inspect.cleandoc(value)
            if key == "description" and isinstance(value, str)
            else clean_descriptions(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [clean_descriptions(item) for item in node]
    return node


def rename_definition(schema: JsonSchema, old: str, new: str, *, prefix: str = "#/$defs/") -> JsonSchema:
    """Rename one entry of ``$defs`` (msgspec names generic instances like ``Envelope_Any_``) and its references."""
    old_ref, new_ref = prefix + old, prefix + new

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: new_ref if key == "$ref" and value == old_ref else walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    renamed: JsonSchema = walk(schema)
    definitions = renamed.get("$defs", {})
    if old in definitions:
        definitions[new] = definitions.pop(old)
        definitions[new]["title"] = new
    return renamed


def _document(
    name: str, version: int, source: str, generated: JsonSchema, extra: dict[str, Any] | None = None
) -> JsonSchema:
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$comment": f"Generated from {source} by `{REGENERATE}`; do not edit.",
        "title": f"{name} v{version}",
        **clean_descriptions(generated),
        "x-name": name,
        "x-schema-version": version,
        **(extra or {}),
    }


def message_schema(cls: type[Message]) -> JsonSchema:
    """The JSON Schema document of one message type's payload (what travels in the envelope's ``payload``).

    A retired version's definition is named after its wire type, not its class, like the current version's, and so
    are the Structs it nests, named ``<Name>V<N>`` in the code (``LineV1`` is ``Line``), as they were released.
    """
    name = wire_type(cls)
    generated = rename_definition(msgspec.json.schema(cls), cls.__name__, name)
    if issubclass(cls, Retired):
        for nested in sorted(generated["$defs"]):
            released = nested.removesuffix(f"V{cls.schema_version}")
            if released != nested and released not in generated["$defs"]:
                generated = rename_definition(generated, nested, released)
    return _document(name, cls.schema_version, f"{cls.__module__}.{cls.__qualname__}", generated)


def envelope_schema() -> JsonSchema:
    """The envelope's JSON Schema; its ``payload`` is any message (each topic's codec narrows it to its union)."""
    generated = rename_definition(msgspec.json.schema(Envelope[Any]), "Envelope_Any_", ENVELOPE_NAME)
    return _document(ENVELOPE_NAME, ENVELOPE_SCHEMA_VERSION, f"{Envelope.__module__}.Envelope", generated)


def generate_schemas(message_types: list[type[Message]] | None = None) -> dict[str, JsonSchema]:
    """File name -> JSON Schema document for the envelope and every message type and version, in file-name order.

    ``message_types`` defaults to every current message type and every registered retired version.
    """
    documents = {schema_file_name(ENVELOPE_NAME, ENVELOPE_SCHEMA_VERSION): envelope_schema()}
    for cls in [*all_message_types(), *RETIRED] if message_types is None else message_types:
        documents[schema_file_name(wire_type(cls), cls.schema_version)] = message_schema(cls)
    return dict(sorted(documents.items()))


def dumps(document: Any) -> str:
    """The one text form of every generated JSON file: sorted keys, two-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_schema_dir(directory: Path) -> dict[str, JsonSchema]:
    """Every ``*.json`` schema document in ``directory``, by file name."""
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))}


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is under it (as messages show it), else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
