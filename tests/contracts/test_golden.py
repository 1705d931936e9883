"""Golden samples: hand-checked envelopes each message type's topic must accept, and ones it must reject.

Layout: ``golden/<Type>/valid/<name>.json`` and ``golden/<Type>/invalid/<name>.json``, each invalid sample
with a sibling ``<name>.reason``: its first line says why the message is invalid, and a line
``error: <text>`` gives text the decoder's error message must contain (so it is rejected for that reason).
A sample's name starts with the ``schema_version`` its envelope carries (``v2_typical.json``). Every version a
type's topic reads has a valid sample, and the current version has invalid ones (near its limits, at least).

The published JSON Schemas agree with the decoder on every sample: a JSON Schema validator with ECMA-262 regular
expressions (``jsonschema_rs``) accepts each valid payload and rejects each payload the decoder rejects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jsonschema_rs
import msgspec
import pytest

from contracts import topics
from contracts.base import Message
from contracts.codecs import all_message_types, codec_for
from tools.contracts.asyncapi import topic_messages
from tools.contracts.schemas import SCHEMAS_DIR, schema_file_name

GOLDEN = Path(__file__).parent / "golden"
TOPIC_OF = {cls.__name__: t.name for t in topics.ALL_TOPICS for cls in topic_messages(t)}


@dataclass(frozen=True)
class Reason:
    why: str
    error: str


def _samples(kind: str) -> list[Path]:
    return sorted(GOLDEN.glob(f"*/{kind}/*.json"))


def _id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.stem}"


def _reason(sample: Path) -> Reason:
    path = sample.with_suffix(".reason")
    assert path.is_file(), f"{sample} has no sibling {path.name} saying why it is invalid"
    lines = path.read_text(encoding="utf-8").splitlines()
    errors = [line.removeprefix("error:").strip() for line in lines if line.startswith("error:")]
    assert lines and lines[0].strip() and not lines[0].startswith("error:"), f"{path}: first line must say why"
    assert len(errors) == 1 and errors[0], f"{path}: needs one 'error: <expected decoder message>' line"
    return Reason(lines[0].strip(), errors[0])


def test_every_message_type_has_valid_and_invalid_samples() -> None:
    names = {cls.__name__ for cls in all_message_types()}
    assert {p.name for p in GOLDEN.iterdir() if p.is_dir()} == names
    for name in sorted(names):
        assert list((GOLDEN / name / "valid").glob("*.json")), f"no valid golden sample for {name}"
        assert list((GOLDEN / name / "invalid").glob("*.json")), f"no invalid golden sample for {name}"


def _version(sample: Path) -> int:
    version = json.loads(sample.read_bytes())["schema_version"]
    assert isinstance(version, int), sample
    return version


def test_every_sample_is_named_after_its_schema_version() -> None:
    for sample in _samples("*"):
        assert sample.name.startswith(f"v{_version(sample)}_"), f"{sample}: name it v{_version(sample)}_<name>.json"


@pytest.mark.parametrize("cls", all_message_types(), ids=lambda cls: cls.__name__)
def test_every_version_read_has_a_valid_sample_and_the_current_one_invalid_ones(cls: type[Message]) -> None:
    name = cls.__name__
    readable = codec_for(TOPIC_OF[name]).readable_versions(name)
    assert sorted({_version(sample) for sample in GOLDEN.glob(f"{name}/valid/*.json")}) == readable
    assert cls.schema_version in {_version(sample) for sample in GOLDEN.glob(f"{name}/invalid/*.json")}


def test_every_reason_file_belongs_to_an_invalid_sample() -> None:
    orphans = [p for p in GOLDEN.glob("*/invalid/*.reason") if not p.with_suffix(".json").is_file()]
    assert not orphans


def _current_schema(message_type: str) -> jsonschema_rs.Validator:
    """A validator of the published JSON Schema of ``message_type``'s current version."""
    version = codec_for(TOPIC_OF[message_type]).current[message_type].schema_version
    return jsonschema_rs.validator_for(json.loads((SCHEMAS_DIR / schema_file_name(message_type, version)).read_bytes()))


@pytest.mark.parametrize("sample", _samples("valid"), ids=_id)
def test_valid_sample_decodes_with_its_topics_codec(sample: Path) -> None:
    message_type = sample.parent.parent.name
    envelope = codec_for(TOPIC_OF[message_type]).decode(sample.read_bytes())
    assert envelope.type == message_type
    assert type(envelope.payload).__name__ == message_type
    assert envelope.schema_version == type(envelope.payload).schema_version  # an older version comes back upgraded
    assert _current_schema(message_type).is_valid(json.loads(sample.read_bytes())["payload"])


@pytest.mark.parametrize("sample", _samples("invalid"), ids=_id)
def test_invalid_sample_is_rejected_for_its_reason(sample: Path) -> None:
    reason = _reason(sample)
    with pytest.raises(msgspec.DecodeError) as raised:  # ValidationError is a DecodeError
        codec_for(TOPIC_OF[sample.parent.parent.name]).decode(sample.read_bytes())
    assert reason.error in str(raised.value), f"{sample.name} ({reason.why}) was rejected for another reason"
    if " - at `$.payload" in reason.error:  # the payload itself is wrong: its published schema says so too
        message_type = sample.parent.parent.name
        assert not _current_schema(message_type).is_valid(json.loads(sample.read_bytes())["payload"])
