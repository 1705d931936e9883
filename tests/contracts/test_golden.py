"""Golden samples: hand-checked envelopes each message type's topic must accept, and ones it must reject.

Layout: ``golden/<Type>/valid/<name>.json`` and ``golden/<Type>/invalid/<name>.json``, each invalid sample
with a sibling ``<name>.reason``: its first line says why the message is invalid, and a line
``error: <text>`` gives text the decoder's error message must contain (so it is rejected for that reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest

from contracts import topics
from contracts.codecs import all_message_types, codec_for
from tools.contracts.asyncapi import topic_messages

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


def test_every_reason_file_belongs_to_an_invalid_sample() -> None:
    orphans = [p for p in GOLDEN.glob("*/invalid/*.reason") if not p.with_suffix(".json").is_file()]
    assert not orphans


@pytest.mark.parametrize("sample", _samples("valid"), ids=_id)
def test_valid_sample_decodes_with_its_topics_codec(sample: Path) -> None:
    message_type = sample.parent.parent.name
    envelope = codec_for(TOPIC_OF[message_type]).decode(sample.read_bytes())
    assert envelope.type == message_type
    assert type(envelope.payload).__name__ == message_type


@pytest.mark.parametrize("sample", _samples("invalid"), ids=_id)
def test_invalid_sample_is_rejected_for_its_reason(sample: Path) -> None:
    reason = _reason(sample)
    with pytest.raises(msgspec.DecodeError) as raised:  # ValidationError is a DecodeError
        codec_for(TOPIC_OF[sample.parent.parent.name]).decode(sample.read_bytes())
    assert reason.error in str(raised.value), f"{sample.name} ({reason.why}) was rejected for another reason"
