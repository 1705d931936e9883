"""JSON Schema keywords one at a time: what kind of value a schema accepts, its bounds, and how each narrowed.

The building blocks of ``schema_diff.py``; each ``*_changes`` function yields one phrase per breaking change.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tools.contracts.schemas import JsonSchema

ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "$comment", "$schema", "$id", "discriminator", "deprecated"}
)
"""Keywords that document a schema without changing what it accepts."""

LOWER_BOUNDS = ("minLength", "minItems", "minProperties")
UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties")
NUMERIC_KINDS = ("integer", "number")
SCALAR_KINDS = ("string", "integer", "number", "boolean", "null")
_HANDLED = frozenset(
    {
        "type",
        "$ref",
        "$defs",
        "anyOf",
        "enum",
        "const",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "prefixItems",
        "uniqueItems",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "propertyNames",
        *LOWER_BOUNDS,
        *UPPER_BOUNDS,
    }
)


@dataclass(frozen=True)
class Bound:
    """A numeric minimum or maximum: its value, and whether the value itself is excluded."""

    value: float
    exclusive: bool

    def tighter_lower_than(self, other: Bound | None) -> bool:
        """As a minimum, whether this rejects a number ``other`` accepts (any bound is tighter than none)."""
        if other is None:
            return True
        return self.value > other.value or (self.value == other.value and self.exclusive and not other.exclusive)

    def tighter_upper_than(self, other: Bound | None) -> bool:
        """As a maximum, whether this rejects a number ``other`` accepts (any bound is tighter than none)."""
        if other is None:
            return True
        return self.value < other.value or (self.value == other.value and self.exclusive and not other.exclusive)

    def __str__(self) -> str:
        number = int(self.value) if float(self.value).is_integer() else self.value
        return f"> {number}" if self.exclusive else f"{number}"


def kind_of(schema: JsonSchema) -> str:
    """The JSON type a (resolved, single-type) schema accepts; ``enum`` for an enum or const, ``any`` if unset."""
    if "enum" in schema or "const" in schema:
        return "enum"
    kind = schema.get("type")
    return kind if isinstance(kind, str) else "any"


def kind_name(schema: JsonSchema) -> str:
    """The kind of a schema in words, for a message: ``string``, ``one of 'a', 'b'``, ``object (Line)``."""
    kind = kind_of(schema)
    if kind == "enum":
        return f"one of {show_values(enum_values(schema))}"
    if kind == "object" and "title" in schema:
        return f"object ({schema['title']})"
    return kind


def compatible_kinds(old: str, new: str) -> bool:
    """Whether a value of kind ``old`` may still be accepted by a schema of kind ``new`` (worth comparing)."""
    return new in (old, "any") or (old, new) == ("integer", "number") or old == "enum"


def enum_values(schema: JsonSchema) -> list[Any]:
    """The values an ``enum`` or ``const`` schema allows."""
    return list(schema["enum"]) if "enum" in schema else [schema["const"]]


def show_values(values: list[Any]) -> str:
    """Values as a comma-separated list of their reprs."""
    return ", ".join(repr(value) for value in values)


def accepts(schema: JsonSchema, value: Any) -> bool:
    """Whether a scalar schema accepts a scalar value (enough to tell whether an enum value still fits)."""
    kind = kind_of(schema)
    if kind == "enum":
        return value in enum_values(schema)
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        if not isinstance(value, str):
            return False
        pattern = schema.get("pattern")
        return (
            schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", math.inf)
            and (pattern is None or re.search(pattern, value) is not None)
            and "format" not in schema
        )
    if kind in NUMERIC_KINDS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if kind == "integer" and not float(value).is_integer():
            return False
        lower, upper = _lower(schema), _upper(schema)
        return (lower is None or value > lower.value or (value == lower.value and not lower.exclusive)) and (
            upper is None or value < upper.value or (value == upper.value and not upper.exclusive)
        )
    return kind == "any"


def _lower(schema: JsonSchema) -> Bound | None:
    bounds = [Bound(schema["minimum"], False)] if "minimum" in schema else []
    if "exclusiveMinimum" in schema:
        bounds.append(Bound(schema["exclusiveMinimum"], True))
    if kind_of(schema) == "integer":  # > n is >= n + 1 for integers
        bounds = [
            Bound(math.floor(b.value) + 1, False) if b.exclusive else Bound(math.ceil(b.value), False) for b in bounds
        ]
    return max(bounds, key=lambda b: (b.value, b.exclusive), default=None)


def _upper(schema: JsonSchema) -> Bound | None:
    bounds = [Bound(schema["maximum"], False)] if "maximum" in schema else []
    if "exclusiveMaximum" in schema:
        bounds.append(Bound(schema["exclusiveMaximum"], True))
    if kind_of(schema) == "integer":
        bounds = [
            Bound(math.ceil(b.value) - 1, False) if b.exclusive else Bound(math.floor(b.value), False) for b in bounds
        ]
    return min(bounds, key=lambda b: (b.value, not b.exclusive), default=None)


def numeric_changes(old: JsonSchema, new: JsonSchema, where: str) -> Iterator[str]:
    """A minimum raised, a maximum lowered or a ``multipleOf`` the old one's values need not meet."""
    old_low, new_low = _lower(old), _lower(new)
    if new_low is not None and new_low.tighter_lower_than(old_low):
        yield (
            f"{where} minimum {new_low} added"
            if old_low is None
            else f"{where} minimum raised from {old_low} to {new_low}"
        )
    old_high, new_high = _upper(old), _upper(new)
    if new_high is not None and new_high.tighter_upper_than(old_high):
        yield (
            f"{where} maximum {new_high} added"
            if old_high is None
            else f"{where} maximum lowered from {old_high} to {new_high}"
        )
    old_step, new_step = old.get("multipleOf"), new.get("multipleOf")
    if new_step is not None and (old_step is None or not float(old_step / new_step).is_integer()):
        yield (
            f"{where} multipleOf {new_step} added"
            if old_step is None
            else f"{where} multipleOf changed from {old_step} to {new_step}"
        )


def string_changes(old: JsonSchema, new: JsonSchema, where: str) -> Iterator[str]:
    """A ``pattern`` or ``format`` added or changed."""
    for keyword in ("pattern", "format"):
        before, after = old.get(keyword), new.get(keyword)
        if after is not None and after != before:
            yield (
                f"{where} {keyword} {after!r} added"
                if before is None
                else f"{where} {keyword} changed from {before!r} to {after!r}"
            )


def count_bound_changes(old: JsonSchema, new: JsonSchema, where: str) -> Iterator[str]:
    """A minimum length, item or property count raised, or a maximum one added or lowered."""
    for keyword in LOWER_BOUNDS:
        before, after = old.get(keyword), new.get(keyword)
        if after is not None and after > (before or 0):
            yield f"{where} {keyword} raised from {before or 0} to {after}"
    for keyword in UPPER_BOUNDS:
        before, after = old.get(keyword), new.get(keyword)
        if after is not None and (before is None or after < before):
            yield (
                f"{where} {keyword} {after} added"
                if before is None
                else f"{where} {keyword} lowered from {before} to {after}"
            )


def unknown_keyword_changes(old: JsonSchema, new: JsonSchema, where: str) -> Iterator[str]:
    """Any change to a keyword this checker does not understand (annotations and ``x-`` extensions aside)."""
    for keyword in sorted((old.keys() | new.keys()) - _HANDLED - ANNOTATIONS):
        if keyword.startswith("x-"):
            continue
        if old.get(keyword) != new.get(keyword):
            yield f"{where} {keyword!r} changed from {old.get(keyword)!r} to {new.get(keyword)!r}"
