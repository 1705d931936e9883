"""Property-based tests of every topic's codec: valid messages survive a round trip, garbage never crashes it."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import topics
from contracts.base import Message, message_type
from contracts.codecs import CODECS, all_message_types, codec_for
from tests.contracts.strategies import SETTINGS, envelopes, json_values
from tools.contracts.asyncapi import topic_messages

TOPIC_OF: dict[type[Message], str] = {cls: t.name for t in topics.ALL_TOPICS for cls in topic_messages(t)}
TYPES_ON: dict[str, set[str]] = {t.name: {cls.__name__ for cls in topic_messages(t)} for t in topics.ALL_TOPICS}


def _name(cls: type[Message]) -> str:
    return cls.__name__


def _rejects_cleanly(topic: str, data: bytes) -> None:
    """Decoding either succeeds or raises msgspec's own errors; anything else is a bug in the codec."""
    try:
        envelope = codec_for(topic).decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return
    assert envelope.type in TYPES_ON[topic]
    assert envelope.type == message_type(envelope.payload)


@pytest.mark.parametrize("cls", all_message_types(), ids=_name)
@SETTINGS
@given(data=st.data())
def test_encode_then_decode_is_the_identity(cls: type[Message], data: st.DataObject) -> None:
    envelope = data.draw(envelopes(cls))
    codec = codec_for(TOPIC_OF[cls])
    decoded = codec.decode(codec.encode(envelope))
    assert decoded == envelope
    assert type(decoded.payload) is cls
    assert decoded.type == message_type(envelope.payload)


@pytest.mark.parametrize("topic", sorted(CODECS))
@SETTINGS
@given(data=st.binary(max_size=400))
def test_random_bytes_never_crash_a_codec(topic: str, data: bytes) -> None:
    _rejects_cleanly(topic, data)


@pytest.mark.parametrize("topic", sorted(CODECS))
@SETTINGS
@given(document=json_values())
def test_random_json_never_crashes_a_codec(topic: str, document: Any) -> None:
    _rejects_cleanly(topic, json.dumps(document).encode())


@pytest.mark.parametrize("cls", all_message_types(), ids=_name)
@SETTINGS
@given(data=st.data())
def test_a_damaged_valid_message_never_crashes_its_codec(cls: type[Message], data: st.DataObject) -> None:
    """Replace or drop one value anywhere in a valid envelope: the codec accepts it or rejects it, cleanly."""
    document = msgspec.to_builtins(data.draw(envelopes(cls)))
    node: Any = document
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and data.draw(st.booleans()):
            node = child
            continue
        if isinstance(node, dict) and data.draw(st.booleans()):
            del node[key]
        else:
            node[key] = data.draw(json_values())
        break
    _rejects_cleanly(TOPIC_OF[cls], json.dumps(document).encode())
