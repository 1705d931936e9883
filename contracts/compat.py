"""Compatibility of the current JSON Schemas with the last released ones (the rules are in docs/contracts.md).

A change is breaking when a reader built from the new schema could reject, or misread, a message written
against the old one: a field removed, a field's type changed, a required field added without a default, a
constraint narrowed (a lower maximum, a higher minimum, a new or changed pattern or format, fewer enum
values, unknown fields newly forbidden). Adding an optional field (one with a default), widening a
constraint and adding a message type are compatible. A breaking change needs a new ``schema_version``
(a new ``<Type>.v<N+1>.json``) while the previous version's schema stays in ``contracts/released/``, and the
previous version must stay decodable: a retired class in ``contracts/retired.py`` generates its
``<Type>.v<N>.json`` again, which must be unchanged from the released one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.schemas import ENVELOPE_NAME, RELEASED_DIR, JsonSchema, load_schema_dir, parse_file_name

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


def schema_changes(old: JsonSchema, new: JsonSchema) -> list[str]:
    """The breaking changes from ``old`` to ``new`` (two schema documents), each as a short phrase; [] if none."""
    return _Comparison(old, new).run()


@dataclass
class CompatReport:
    """What ``check_compat`` found: ``errors`` fail the check, ``notes`` are for information."""

    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No breaking change without a version bump."""
        return not self.errors


def breaking(subject: str, change: str, *, retired: bool = False) -> str:
    """The one-line message for a breaking change, e.g. ``ReserveStock v1: field 'lines' removed (...)``.

    ``retired``: the subject is a retired version, which must keep its released shape (a bump cannot help).
    """
    if retired:
        remedy = "a retired version must keep its released shape"
    elif subject.startswith(f"{ENVELOPE_NAME} "):
        remedy = "bump ENVELOPE_SCHEMA_VERSION"
    else:
        remedy = "bump schema_version"
    return f"{subject}: {change} (breaking; {remedy})"


def not_decodable(name: str, version: int, current: int) -> str:
    """The message for a released version that was bumped away without a retired class to read it."""
    return (
        f"{name} v{version}: no longer decodable: bumped to v{current} without a retired {name} v{version} "
        "(add one with upgrade() to contracts/retired.py)"
    )


def check_compat(
    current: Mapping[str, JsonSchema], released: Mapping[str, JsonSchema], *, baseline: str = "the baseline"
) -> CompatReport:
    """Check the current schemas (file name -> document) against the released ones (same shape)."""
    report = CompatReport()
    now, before = _by_name(current), _by_name(released)
    for name, versions in before.items():
        for version, old in versions.items():
            subject = f"{name} v{version}"
            if name not in now:
                report.errors.append(breaking(subject, f"message type removed (it is in {baseline})"))
                continue
            latest = max(now[name])  # lower versions in the current schemas are retired ones, still decoded
            if version in now[name]:
                retired = version < latest
                changes = schema_changes(old, now[name][version])
                report.errors.extend(breaking(subject, change, retired=retired) for change in changes)
            elif latest < version:
                report.errors.append(f"{subject}: schema_version went back to v{latest} (it is in {baseline})")
            elif version < max(versions):  # already retired in the baseline: ending its retention is a choice
                report.notes.append(f"{subject}: retired version dropped (it is no longer decoded)")
            else:
                report.errors.append(not_decodable(name, version, latest))
    for name, versions in now.items():
        for version, new in versions.items():
            if version in before.get(name, {}):
                continue
            earlier = [v for v in before.get(name, {}) if v < version]
            if not earlier:
                if version == 1:
                    report.notes.append(f"{name} v1: new message type")
                else:
                    report.errors.append(
                        f"{name} v{version}: no earlier version of {name} is in {baseline}; a bumped message keeps "
                        "its previous schema in contracts/released/ (a new message type starts at v1)"
                    )
                continue
            previous = max(earlier)
            changes = schema_changes(before[name][previous], new)
            summary = "; ".join(changes) if changes else "none (the bump was not needed)"
            report.notes.append(f"{name} v{previous} -> v{version}: version bumped; breaking changes: {summary}")
    return report


def latest_release(released_dir: Path = RELEASED_DIR) -> Path:
    """The newest release snapshot (``contracts/released/v<N>`` with the highest N)."""
    releases = [p for p in released_dir.iterdir() if p.is_dir() and re.fullmatch(r"v\d+", p.name)]
    if not releases:
        raise FileNotFoundError(f"no release snapshot (v<N>/) in {released_dir}")
    return max(releases, key=lambda p: int(p.name[1:]))


def check_against(baseline_dir: Path, current: Mapping[str, JsonSchema]) -> CompatReport:
    """``check_compat`` against the schema files of one release snapshot directory."""
    return check_compat(current, load_schema_dir(baseline_dir), baseline=_display(baseline_dir))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _by_name(documents: Mapping[str, JsonSchema]) -> dict[str, dict[int, JsonSchema]]:
    grouped: dict[str, dict[int, JsonSchema]] = {}
    for file_name, document in documents.items():
        name, version = parse_file_name(file_name)
        grouped.setdefault(name, {})[version] = document
    return grouped


@dataclass(frozen=True)
class _Bound:
    value: float
    exclusive: bool

    def tighter_lower_than(self, other: _Bound | None) -> bool:
        if other is None:
            return True
        return self.value > other.value or (self.value == other.value and self.exclusive and not other.exclusive)

    def tighter_upper_than(self, other: _Bound | None) -> bool:
        if other is None:
            return True
        return self.value < other.value or (self.value == other.value and self.exclusive and not other.exclusive)

    def __str__(self) -> str:
        number = int(self.value) if float(self.value).is_integer() else self.value
        return f"> {number}" if self.exclusive else f"{number}"


class _Comparison:
    """Walks two schema documents side by side, resolving each one's ``$ref``s against its own ``$defs``."""

    def __init__(self, old_root: JsonSchema, new_root: JsonSchema) -> None:
        self._old_root = old_root
        self._new_root = new_root
        self._in_progress: set[tuple[str, str]] = set()

    def run(self) -> list[str]:
        return self._compare(self._old_root, self._new_root, "")

    # -- references and alternatives

    def _resolve(self, root: JsonSchema, schema: JsonSchema) -> tuple[JsonSchema, str]:
        ref = ""
        seen: set[str] = set()
        while "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/$defs/") or ref in seen:
                raise ValueError(f"unsupported or circular $ref {ref!r}")
            seen.add(ref)
            target = root.get("$defs", {})[ref.removeprefix("#/$defs/")]
            siblings = {key: value for key, value in schema.items() if key != "$ref"}
            schema = {**target, **siblings}
        return schema, ref

    def _alternatives(self, root: JsonSchema, schema: JsonSchema) -> list[tuple[JsonSchema, str]]:
        resolved, ref = self._resolve(root, schema)
        if "anyOf" in resolved:
            return [alt for option in resolved["anyOf"] for alt in self._alternatives(root, option)]
        types = resolved.get("type")
        if isinstance(types, list):
            return [({**resolved, "type": kind}, ref) for kind in types]
        return [(resolved, ref)]

    def _compare(self, old: JsonSchema, new: JsonSchema, path: str) -> list[str]:
        olds = self._alternatives(self._old_root, old)
        news = self._alternatives(self._new_root, new)
        if len(olds) == 1 and len(news) == 1:
            return self._single(olds[0], news[0], path)
        problems: list[str] = []
        for old_alt in olds:
            candidates = [alt for alt in news if _compatible_kinds(_kind(old_alt[0]), _kind(alt[0]))]
            if not candidates:
                problems.append(f"{_where(path)} no longer accepts {_kind_name(old_alt[0])}")
                continue
            trials = [self._single(old_alt, alt, path) for alt in candidates]
            best: list[str] = min(trials, key=len)
            problems.extend(best)
        return problems

    def _single(self, old_ref: tuple[JsonSchema, str], new_ref: tuple[JsonSchema, str], path: str) -> list[str]:
        (old, old_name), (new, new_name) = old_ref, new_ref
        pair = (old_name, new_name)
        if old_name and new_name:
            if pair in self._in_progress:
                return []  # a recursive type: this pair is being compared further up
            self._in_progress.add(pair)
        try:
            return self._same_kind(old, new, path)
        finally:
            self._in_progress.discard(pair)

    # -- one alternative against one alternative

    def _same_kind(self, old: JsonSchema, new: JsonSchema, path: str) -> list[str]:
        old_kind, new_kind = _kind(old), _kind(new)
        where = _where(path)
        if new_kind == "any":
            return []
        if old_kind == "enum" and new_kind in SCALAR_KINDS:
            lost = [value for value in _enum(old) if not _accepts(new, value)]
            return [f"{where} no longer accepts {_values(lost)}"] if lost else []
        if old_kind != new_kind and not (old_kind == "integer" and new_kind == "number"):
            return [f"{where} type changed from {_kind_name(old)} to {_kind_name(new)}"]
        problems: list[str] = []
        if new_kind == "enum":
            lost = [value for value in _enum(old) if value not in _enum(new)]
            if lost:
                problems.append(f"{where} no longer accepts {_values(lost)}")
        elif new_kind == "object":
            problems.extend(self._object(old, new, path))
        elif new_kind == "array":
            problems.extend(self._array(old, new, path))
        elif new_kind == "string":
            problems.extend(_string(old, new, where))
        elif new_kind in NUMERIC_KINDS:
            problems.extend(_numeric(old, new, where))
        problems.extend(_count_bounds(old, new, where))
        problems.extend(_unknown_keywords(old, new, where))
        return problems

    def _object(self, old: JsonSchema, new: JsonSchema, path: str) -> list[str]:
        problems: list[str] = []
        old_props: dict[str, JsonSchema] = old.get("properties", {})
        new_props: dict[str, JsonSchema] = new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        for name, old_prop in old_props.items():
            sub = _join(path, name)
            if name not in new_props:
                problems.append(f"field '{sub}' removed")
                continue
            if name in new_required and name not in old_required:
                problems.append(f"field '{sub}' became required")
            problems.extend(self._compare(old_prop, new_props[name], sub))
        for name in new_props.keys() - old_props.keys():
            if name in new_required:
                problems.append(f"field '{_join(path, name)}' added as required (no default)")
        old_extra, new_extra = old.get("additionalProperties", True), new.get("additionalProperties", True)
        if new_extra is False and old_extra is not False:
            problems.append(f"{_where(path)} now rejects unknown fields")
        elif isinstance(old_extra, dict) and isinstance(new_extra, dict):
            problems.extend(self._compare(old_extra, new_extra, f"{path}{{}}"))
        elif isinstance(new_extra, dict) and not isinstance(old_extra, dict):
            problems.append(f"{_where(path)} now constrains the values of unknown fields")
        if "propertyNames" in old or "propertyNames" in new:
            problems.extend(self._compare(old.get("propertyNames", {}), new.get("propertyNames", {}), f"{path}{{key}}"))
        return problems

    def _array(self, old: JsonSchema, new: JsonSchema, path: str) -> list[str]:
        problems: list[str] = []
        where = _where(path)
        old_prefix: list[JsonSchema] = old.get("prefixItems", [])
        new_prefix: list[JsonSchema] = new.get("prefixItems", [])
        if len(old_prefix) != len(new_prefix):
            problems.append(f"{where} tuple length changed from {len(old_prefix)} to {len(new_prefix)}")
        else:
            for index, (old_item, new_item) in enumerate(zip(old_prefix, new_prefix, strict=True)):
                problems.extend(self._compare(old_item, new_item, f"{path}[{index}]"))
        old_items, new_items = old.get("items", {}), new.get("items", {})
        if new_items is False and old_items is not False:
            problems.append(f"{where} no longer accepts extra items")
        elif isinstance(old_items, dict) and isinstance(new_items, dict):
            problems.extend(self._compare(old_items, new_items, f"{path}[]"))
        if new.get("uniqueItems") and not old.get("uniqueItems"):
            problems.append(f"{where} now requires unique items")
        return problems


def _kind(schema: JsonSchema) -> str:
    if "enum" in schema or "const" in schema:
        return "enum"
    kind = schema.get("type")
    return kind if isinstance(kind, str) else "any"


def _kind_name(schema: JsonSchema) -> str:
    kind = _kind(schema)
    if kind == "enum":
        return f"one of {_values(_enum(schema))}"
    if kind == "object" and "title" in schema:
        return f"object ({schema['title']})"
    return kind


def _compatible_kinds(old: str, new: str) -> bool:
    return new in (old, "any") or (old, new) == ("integer", "number") or old == "enum"


def _enum(schema: JsonSchema) -> list[Any]:
    return list(schema["enum"]) if "enum" in schema else [schema["const"]]


def _values(values: list[Any]) -> str:
    return ", ".join(repr(value) for value in values)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _where(path: str) -> str:
    return f"field '{path}'" if path else "the message"


def _accepts(schema: JsonSchema, value: Any) -> bool:
    """Whether a scalar schema accepts a scalar value (enough to tell whether an enum value still fits)."""
    kind = _kind(schema)
    if kind == "enum":
        return value in _enum(schema)
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


def _lower(schema: JsonSchema) -> _Bound | None:
    bounds = [_Bound(schema["minimum"], False)] if "minimum" in schema else []
    if "exclusiveMinimum" in schema:
        bounds.append(_Bound(schema["exclusiveMinimum"], True))
    if _kind(schema) == "integer":  # > n is >= n + 1 for integers
        bounds = [
            _Bound(math.floor(b.value) + 1, False) if b.exclusive else _Bound(math.ceil(b.value), False) for b in bounds
        ]
    return max(bounds, key=lambda b: (b.value, b.exclusive), default=None)


def _upper(schema: JsonSchema) -> _Bound | None:
    bounds = [_Bound(schema["maximum"], False)] if "maximum" in schema else []
    if "exclusiveMaximum" in schema:
        bounds.append(_Bound(schema["exclusiveMaximum"], True))
    if _kind(schema) == "integer":
        bounds = [
            _Bound(math.ceil(b.value) - 1, False) if b.exclusive else _Bound(math.floor(b.value), False) for b in bounds
        ]
    return min(bounds, key=lambda b: (b.value, not b.exclusive), default=None)


def _numeric(old: JsonSchema, new: JsonSchema, where: str) -> Iterator[str]:
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


def _string(old: JsonSchema, new: JsonSchema, where: str) -> Iterator[str]:
    for keyword in ("pattern", "format"):
        before, after = old.get(keyword), new.get(keyword)
        if after is not None and after != before:
            yield (
                f"{where} {keyword} {after!r} added"
                if before is None
                else f"{where} {keyword} changed from {before!r} to {after!r}"
            )


def _count_bounds(old: JsonSchema, new: JsonSchema, where: str) -> Iterator[str]:
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


def _unknown_keywords(old: JsonSchema, new: JsonSchema, where: str) -> Iterator[str]:
    for keyword in sorted((old.keys() | new.keys()) - _HANDLED - ANNOTATIONS):
        if keyword.startswith("x-"):
            continue
        if old.get(keyword) != new.get(keyword):
            yield f"{where} {keyword!r} changed from {old.get(keyword)!r} to {new.get(keyword)!r}"
