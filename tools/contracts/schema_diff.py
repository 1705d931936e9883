"""Comparing two JSON Schema documents: every way a reader of the new one could reject a message valid under the old.

``schema_changes`` walks both documents side by side, resolving ``$ref``s, matching ``anyOf`` alternatives and
recursing into objects and arrays; the checks of single keywords (bounds, patterns, enums) are in ``keywords.py``.
"""

from __future__ import annotations

from tools.contracts.keywords import (
    NUMERIC_KINDS,
    SCALAR_KINDS,
    accepts,
    compatible_kinds,
    count_bound_changes,
    enum_values,
    kind_name,
    kind_of,
    numeric_changes,
    show_values,
    string_changes,
    unknown_keyword_changes,
)
from tools.contracts.schemas import JsonSchema


def schema_changes(old: JsonSchema, new: JsonSchema) -> list[str]:
    """The breaking changes from ``old`` to ``new`` (two schema documents), each as a short phrase; [] if none."""
    return _Comparison(old, new).run()


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
            candidates = [alt for alt in news if compatible_kinds(kind_of(old_alt[0]), kind_of(alt[0]))]
            if not candidates:
                problems.append(f"{_where(path)} no longer accepts {kind_name(old_alt[0])}")
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
        old_kind, new_kind = kind_of(old), kind_of(new)
        where = _where(path)
        if new_kind == "any":
            return []
        if old_kind == "enum" and new_kind in SCALAR_KINDS:
            lost = [value for value in enum_values(old) if not accepts(new, value)]
            return [f"{where} no longer accepts {show_values(lost)}"] if lost else []
        if old_kind != new_kind and not (old_kind == "integer" and new_kind == "number"):
            return [f"{where} type changed from {kind_name(old)} to {kind_name(new)}"]
        problems: list[str] = []
        if new_kind == "enum":
            lost = [value for value in enum_values(old) if value not in enum_values(new)]
            if lost:
                problems.append(f"{where} no longer accepts {show_values(lost)}")
        elif new_kind == "object":
            problems.extend(self._object(old, new, path))
        elif new_kind == "array":
            problems.extend(self._array(old, new, path))
        elif new_kind == "string":
            problems.extend(string_changes(old, new, where))
        elif new_kind in NUMERIC_KINDS:
            problems.extend(numeric_changes(old, new, where))
        problems.extend(count_bound_changes(old, new, where))
        problems.extend(unknown_keyword_changes(old, new, where))
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


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _where(path: str) -> str:
    return f"field '{path}'" if path else "the message"
