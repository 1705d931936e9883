"""Escaping keys and headers so PostgreSQL stores any bytes, and getting the same bytes back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plumbing.escaping import escape, printable, storable, unescape
from tests.contracts.strategies import SETTINGS


@SETTINGS
@given(st.binary(max_size=300) | st.text().map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_round_trip_through_storable_text(data: bytes) -> None:
    text = escape(data)
    assert unescape(text) == data
    assert storable(text.encode("utf-8"))


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"saga-1", "saga-1"),
        ("caf\u00e9 \u20ac".encode(), "caf\u00e9 \u20ac"),
        (b"a\x00b", "a\\x00b"),
        (b"\xff\xfe", "\\xff\\xfe"),
        (b"\xed\xa0\x80", "\\xed\\xa0\\x80"),  # an encoded surrogate is not UTF-8
        (b"back\\slash", "back\\\\slash"),
        (b"\\x00", "\\\\x00"),  # text that looks like an escape stays apart from one
    ],
)
def test_escapes_read_as_the_bytes_they_stand_for(data: bytes, text: str) -> None:
    assert escape(data) == text
    assert unescape(text) == data


@pytest.mark.parametrize(("data", "ok"), [(b"abc", True), (b"", True), (b"a\x00", False), (b"\xc3(", False)])
def test_storable_means_utf8_without_nul(data: bytes, ok: bool) -> None:
    assert storable(data) is ok


def test_printable_text_is_cut_and_has_no_nul_or_lone_surrogate() -> None:
    assert printable("a\x00b\udc80c", 100) == "a\\x00b\\udc80c"
    assert printable("x" * 50, 10) == "x" * 10
