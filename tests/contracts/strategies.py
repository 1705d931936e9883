"""Hypothesis strategies for valid messages, built from the Structs' annotations and their ``msgspec.Meta``.

``hypothesis.strategies.from_type`` knows nothing of msgspec's constraints, so this walks
``msgspec.inspect.type_info`` and honours every bound, length and pattern it finds. A type it does not
know raises ``NotImplementedError``: extend ``_strategy`` when a contract starts using one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import msgspec
import msgspec.inspect as mi
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from contracts.base import NUL_FREE, Message, message_type
from contracts.envelope import Envelope

INT64 = (-(2**63), 2**63 - 1)
"""Unbounded integers stay within what every JSON reader of these messages handles."""


def strategy_for(annotation: Any) -> st.SearchStrategy[Any]:
    """Valid values of ``annotation`` (a Struct, a constrained ``Annotated`` type, a union...)."""
    return _strategy(mi.type_info(annotation))


@cache
def envelopes(cls: type[Message]) -> st.SearchStrategy[Envelope[Any]]:
    """Valid envelopes around a ``cls`` payload, with ``type`` and ``schema_version`` matching it."""

    def consistent(envelope: Envelope[Any]) -> Envelope[Any]:
        return msgspec.structs.replace(
            envelope, type=message_type(envelope.payload), schema_version=type(envelope.payload).schema_version
        )

    return strategy_for(Envelope[cls]).map(consistent)  # type: ignore[valid-type]


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON document (as Python values)."""
    scalars = st.none() | st.booleans() | st.integers(*INT64) | st.floats(allow_nan=False) | st.text(max_size=20)
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=12,
    )


def _strategy(info: mi.Type) -> st.SearchStrategy[Any]:
    if isinstance(info, mi.Metadata):
        return _strategy(info.type)
    if isinstance(info, mi.StructType):
        fields = {field.name: _strategy(field.type) for field in info.fields}
        return st.builds(info.cls, **fields)
    if isinstance(info, mi.StrType):
        return _strings(info.min_length, info.max_length, info.pattern)
    if isinstance(info, mi.IntType):
        return _integers(info)
    if isinstance(info, mi.FloatType):
        return _floats(info)
    if isinstance(info, mi.BoolType):
        return st.booleans()
    if isinstance(info, mi.NoneType):
        return st.none()
    if isinstance(info, mi.UnionType):
        return st.one_of(*(_strategy(member) for member in info.types))
    if isinstance(info, mi.ListType):
        low, high = _sizes(info.min_length, info.max_length)
        return st.lists(_strategy(info.item_type), min_size=low, max_size=high)
    if isinstance(info, mi.DictType):
        low, high = _sizes(info.min_length, info.max_length)
        return st.dictionaries(_strategy(info.key_type), _strategy(info.value_type), min_size=low, max_size=high)
    if isinstance(info, mi.LiteralType):
        return st.sampled_from(info.values)
    if isinstance(info, mi.EnumType):
        return st.sampled_from(list(info.cls))
    if isinstance(info, mi.UUIDType):
        return st.uuids()
    if isinstance(info, mi.DateTimeType):
        return _datetimes(info.tz)
    if isinstance(info, mi.AnyType):
        return json_values()
    raise NotImplementedError(f"no strategy for {info!r}: extend tests/contracts/strategies.py")


def _sizes(min_length: int | None, max_length: int | None, small: int = 5) -> tuple[int, int]:
    """Keep generated collections small: a few items more than the minimum, never more than allowed."""
    low = min_length or 0
    high = low + small if max_length is None else min(max_length, low + small)
    return low, high


def _strings(min_length: int | None, max_length: int | None, pattern: str | None) -> st.SearchStrategy[str]:
    low, high = min_length or 0, max_length
    if pattern is None:
        return st.text(min_size=low, max_size=high)
    if pattern == NUL_FREE:  # the pattern of every text type: any text but NUL, drawn directly rather than filtered
        return st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=low, max_size=high)
    # msgspec applies patterns with re.search; a full match is one that certainly passes.
    compiled = re.compile(pattern)
    return st.from_regex(compiled, fullmatch=True).filter(
        lambda text: low <= len(text) and (high is None or len(text) <= high)
    )


def _integers(info: mi.IntType) -> st.SearchStrategy[int]:
    low = info.ge if info.ge is not None else (info.gt + 1 if info.gt is not None else INT64[0])
    high = info.le if info.le is not None else (info.lt - 1 if info.lt is not None else INT64[1])
    values = st.integers(low, high)
    if info.multiple_of is not None:
        step = info.multiple_of
        values = st.integers(-(-low // step), high // step).map(lambda n: n * step)
    return values


def _floats(info: mi.FloatType) -> st.SearchStrategy[float]:
    return st.floats(
        min_value=info.ge if info.ge is not None else info.gt,
        max_value=info.le if info.le is not None else info.lt,
        exclude_min=info.gt is not None,
        exclude_max=info.lt is not None,
        allow_nan=False,
        allow_infinity=False,
    )


def _datetimes(tz: bool | None) -> st.SearchStrategy[datetime]:
    offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda minutes: timezone(timedelta(minutes=minutes)))
    aware = st.datetimes(timezones=st.just(UTC) | offsets)
    naive = st.datetimes()
    if tz is True:
        return aware
    if tz is False:
        return naive
    return aware | naive


SETTINGS = settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
"""Fast and deterministic: the same 50 examples per test on every run."""
