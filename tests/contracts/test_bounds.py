"""Contracts bound every string and every collection, and the decoder and the published JSON Schemas agree on it.

For every string field of every current message type (envelope included) and every list: a value at its maximum
length decodes, one over is rejected naming the limit and the field, a NUL is rejected, and an anchored pattern
refuses a final newline; a JSON Schema validator with ECMA-262 regular expressions (``jsonschema_rs``) gives the
same verdict on the published schema. The base of each case is the type's ``golden/<Type>/valid/v<N>_typical.json``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
import msgspec
import msgspec.inspect as mi
import pytest

from contracts import topics
from contracts.base import NUL_FREE, Message, Reason, Sku, fit, wire_type
from contracts.codecs import all_message_types, codec_for
from contracts.envelope import Envelope
from tools.contracts.asyncapi import topic_messages
from tools.contracts.schemas import ENVELOPE_NAME, ENVELOPE_SCHEMA_VERSION, SCHEMAS_DIR, schema_file_name

GOLDEN = Path(__file__).parent / "golden"
TOPIC_OF = {cls: t.name for t in topics.ALL_TOPICS for cls in topic_messages(t)}
Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Bounded:
    """One bounded string or list of one message type: where it is in an envelope, and its constraints."""

    cls: type[Message]
    path: Path_
    info: mi.Type

    @property
    def where(self) -> str:
        """The path as msgspec's errors write it: ``$.payload.lines[0].sku``."""
        return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in self.path)

    def __str__(self) -> str:
        return f"{wire_type(self.cls)}:{self.where}"


def _walk(info: mi.Type, path: Path_) -> Iterator[tuple[Path_, mi.Type]]:
    if isinstance(info, mi.Metadata):
        yield from _walk(info.type, path)
    elif isinstance(info, mi.StructType):
        for field in info.fields:
            yield from _walk(field.type, (*path, field.encode_name))
    elif isinstance(info, mi.UnionType):
        for member in info.types:
            yield from _walk(member, path)
    elif isinstance(info, mi.ListType | mi.DictType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        yield path, info
        if isinstance(info, mi.ListType):
            yield from _walk(info.item_type, (*path, 0))
    elif isinstance(info, mi.StrType):
        yield path, info


def _envelope_of(cls: type[Message]) -> mi.Type:
    return mi.type_info(Envelope[cls])  # type: ignore[valid-type]


def _everything() -> list[tuple[type[Message], Path_, mi.Type]]:
    return [(cls, path, info) for cls in all_message_types() for path, info in _walk(_envelope_of(cls), ())]


def _bounded(kind: type[mi.Type]) -> list[Bounded]:
    return [Bounded(cls, path, info) for cls, path, info in _everything() if isinstance(info, kind)]


STRINGS = _bounded(mi.StrType)
LISTS = _bounded(mi.ListType)


def test_every_string_and_collection_has_a_maximum_and_every_text_refuses_nul() -> None:
    unbounded = [
        f"{cls.__name__}:{path}" for cls, path, info in _everything() if getattr(info, "max_length", 0) is None
    ]
    assert unbounded == []
    allows_nul = [str(case) for case in STRINGS if re.search(_pattern(case), "A\x00") is not None]
    assert allows_nul == []


# -- one field at a time, against the decoder and the published schema


def _base(case: Bounded) -> dict[str, Any]:
    sample = GOLDEN / case.cls.__name__ / "valid" / f"v{case.cls.schema_version}_typical.json"
    document: dict[str, Any] = json.loads(sample.read_bytes())
    return document


def _with(document: dict[str, Any], path: Path_, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node: Any = changed
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


def _pattern(case: Bounded) -> str:
    assert isinstance(case.info, mi.StrType)
    return case.info.pattern or ""


def _at_limit(info: mi.StrType) -> str:
    assert info.max_length is not None
    fill = next(c for c in "Aa0" if re.search(info.pattern or "", c * info.max_length))
    return fill * info.max_length


def _schema_accepts(case: Bounded, document: dict[str, Any]) -> bool:
    """The published JSON Schema's verdict: the payload's, or the envelope's for an envelope field."""
    if case.path[0] == "payload":
        name, version, instance = wire_type(case.cls), case.cls.schema_version, document["payload"]
    else:
        name, version, instance = ENVELOPE_NAME, ENVELOPE_SCHEMA_VERSION, document
    schema = json.loads((SCHEMAS_DIR / schema_file_name(name, version)).read_bytes())
    return bool(jsonschema_rs.validator_for(schema).is_valid(instance))


def _decode_error(case: Bounded, document: dict[str, Any]) -> str | None:
    try:
        codec_for(TOPIC_OF[case.cls]).decode(json.dumps(document).encode())
    except msgspec.ValidationError as error:
        return str(error)
    return None


def _fixed_by_the_payload(case: Bounded) -> bool:
    """The envelope's ``type`` must name the payload's: any other value is refused for that."""
    return case.path == ("type",)


@pytest.mark.parametrize("case", STRINGS, ids=str)
def test_a_string_at_its_maximum_is_accepted_and_one_over_is_not(case: Bounded) -> None:
    assert isinstance(case.info, mi.StrType)
    at_limit = _with(_base(case), case.path, _at_limit(case.info))
    if not _fixed_by_the_payload(case):
        assert _decode_error(case, at_limit) is None
    assert _schema_accepts(case, at_limit)

    over = _with(_base(case), case.path, _at_limit(case.info) + _at_limit(case.info)[-1])
    assert _decode_error(case, over) == f"Expected `str` of length <= {case.info.max_length} - at `{case.where}`"
    assert not _schema_accepts(case, over)


@pytest.mark.parametrize("case", STRINGS, ids=str)
def test_a_nul_or_a_final_newline_is_refused_alike_by_the_decoder_and_the_schema(case: Bounded) -> None:
    assert isinstance(case.info, mi.StrType)
    valid = _at_limit(case.info)
    nul = _with(_base(case), case.path, valid[:-1] + "\x00")
    assert f"matching regex {case.info.pattern!r} - at `{case.where}`" in (_decode_error(case, nul) or "")
    assert not _schema_accepts(case, nul)

    newline = _with(_base(case), case.path, valid[:-1] + "\n")
    if case.info.pattern == NUL_FREE:  # free text may hold line breaks, even a final one
        assert _decode_error(case, newline) is None
        assert _schema_accepts(case, newline)
    else:  # Python's `$` alone would let it through: the pattern ends with END
        assert f"matching regex {case.info.pattern!r} - at `{case.where}`" in (_decode_error(case, newline) or "")
        assert not _schema_accepts(case, newline)


@pytest.mark.parametrize("case", LISTS, ids=str)
def test_a_list_at_its_maximum_is_accepted_and_one_over_is_not(case: Bounded) -> None:
    assert isinstance(case.info, mi.ListType) and case.info.max_length is not None
    node: Any = _base(case)
    for part in case.path:
        node = node[part]
    first = node[0]
    full = _with(_base(case), case.path, [first] * case.info.max_length)
    assert _decode_error(case, full) is None
    assert _schema_accepts(case, full)

    over = _with(_base(case), case.path, [first] * (case.info.max_length + 1))
    assert _decode_error(case, over) == f"Expected `array` of length <= {case.info.max_length} - at `{case.where}`"
    assert not _schema_accepts(case, over)


# -- fit(): text a service does not control, made valid


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("out of stock", "out of stock"),
        ("a\x00b", "a\ufffdb"),
        ("", "(empty)"),
        ("é" * 500, "é" * 500),
        ("é" * 501, "é" * 499 + "…"),
    ],
    ids=["as is", "NUL", "empty", "at the limit", "one over"],
)
def test_fit_makes_any_text_a_valid_reason(value: str, expected: str) -> None:
    assert fit(value, Reason) == expected
    assert msgspec.convert(expected, Reason) == expected


def test_fit_is_only_for_text_types() -> None:
    with pytest.raises(TypeError, match=re.escape("fit() is for the NUL-free text types of contracts.base")):
        fit("NES-SMB3", Sku)
