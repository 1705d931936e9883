"""Kafka keys and headers as text PostgreSQL can store, reversibly: for dead letters of arbitrary bytes.

PostgreSQL's ``text`` and ``jsonb`` refuse NUL, and a Python ``str`` cannot hold bytes that are not UTF-8. A
dead letter whose key or headers hold either has its key, header names and header values backslash-escaped
(``\\\\`` for a backslash, ``\\xHH`` for NUL and for each byte that is not part of valid UTF-8; all other text as
it was) and carries ``dlq.escaped: backslash``. ``unescape`` gives the original bytes back.
"""

from __future__ import annotations

import re

ESCAPED = "dlq.escaped"
"""The header that marks a dead letter whose key and headers are escaped; its value names the scheme."""
SCHEME = "backslash"

_TO_ESCAPE = re.compile("[\\\\\x00\udc80-\udcff]")
_ESCAPE_SEQUENCE = re.compile(r"\\(\\|x[0-9a-f]{2})")


def storable(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 without NUL, so text columns and JSON can hold it as it is."""
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def escape(data: bytes) -> str:
    """``data`` as storable text that ``unescape`` turns back into the same bytes."""
    return _TO_ESCAPE.sub(_escaped, data.decode("utf-8", "surrogateescape"))


def unescape(text: str) -> bytes:
    """The bytes ``escape`` was given."""
    return _ESCAPE_SEQUENCE.sub(_unescaped, text).encode("utf-8", "surrogateescape")


def as_bytes(value: str | bytes | None) -> bytes:
    """A key or header as Kafka carried it (confluent-kafka gives header names as text)."""
    if value is None:
        return b""
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def printable(text: str, limit: int) -> str:
    """``text`` (e.g. an error message quoting a bad message) cut to ``limit`` characters and made storable:
    NUL and lone surrogates written as escapes (not reversibly: it is our text, not the message's)."""
    return text[:limit].encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    return f"\\x{ord(char) & 0xFF:02x}"  # NUL, or a byte surrogateescape kept as U+DC80..U+DCFF


def _unescaped(match: re.Match[str]) -> str:
    sequence = match.group(1)
    if sequence == "\\":
        return "\\"
    byte = int(sequence[1:], 16)
    return chr(byte) if byte < 0x80 else chr(0xDC00 + byte)
