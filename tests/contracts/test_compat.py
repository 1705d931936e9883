"""The compatibility checker: the current code passes; incompatible changes are caught and named.

Modified copies of message Structs are defined inside the tests, as changes to the current version of each type
(v2; version bumps in depth: test_versions.py). This module does not use ``from __future__ import annotations``,
so their annotations may refer to other local classes.
"""

import json
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest

from contracts.base import Line, Lines, Message, OrderId, Retired, Sku
from contracts.retired.payment import PaymentSucceededV1
from tests.contracts.support import BASELINE, ENVELOPE_FILE, check_with
from tools.contracts.__main__ import main
from tools.contracts.compat import check_compat, latest_release, schema_changes
from tools.contracts.schemas import (
    ENVELOPE_SCHEMA_VERSION,
    RELEASED_DIR,
    generate_schemas,
    load_schema_dir,
    message_schema,
    schema_file_name,
)

RELEASES = sorted((p for p in RELEASED_DIR.iterdir() if p.is_dir()), key=lambda p: int(p.name[1:]))


def test_the_current_code_is_compatible_with_the_last_release() -> None:
    report = check_compat(generate_schemas(), load_schema_dir(BASELINE))
    assert report.ok, "\n".join(report.errors)


def test_the_compat_command_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compat"]) == 0
    assert "compatible with" in capsys.readouterr().out


@pytest.mark.parametrize(("before", "after"), list(pairwise(RELEASES)), ids=lambda p: p.name)
def test_every_release_is_compatible_with_the_one_before(before: Path, after: Path) -> None:
    report = check_compat(load_schema_dir(after), load_schema_dir(before))
    assert report.ok, "\n".join(report.errors)


def test_v3_bumped_every_type_and_the_envelope_with_notes() -> None:
    """contracts v3 bounds every string: each type went to v2 (its v1 still read), the envelope to v2 (a note)."""
    report = check_compat(load_schema_dir(RELEASES[2]), load_schema_dir(RELEASES[1]))
    bumps = sorted(note.split(" ")[0] for note in report.notes if " v1 -> v2: version bumped" in note)
    assert bumps == sorted(name.removesuffix(".v1.json") for name in load_schema_dir(RELEASES[1]))
    (envelope,) = [note for note in report.notes if note.startswith("Envelope ")]
    assert envelope.endswith("(not on the wire: every envelope is now read as v2; needs a migration plan)")


def test_the_newest_release_is_the_baseline() -> None:
    assert latest_release() == BASELINE == RELEASES[-1]


def test_removing_a_field_is_breaking() -> None:
    class ReserveStock(Message, frozen=True, kw_only=True):
        schema_version = 2
        order_id: OrderId

    report = check_with(ReserveStock)
    assert report.errors == ["ReserveStock v2: field 'lines' removed (breaking; bump schema_version)"]


def test_changing_a_nested_fields_type_is_breaking() -> None:
    class Line(msgspec.Struct, frozen=True, kw_only=True):
        sku: Sku
        quantity: str

    class ReserveStock(Message, frozen=True, kw_only=True):
        schema_version = 2
        order_id: OrderId
        lines: Annotated[list[Line], msgspec.Meta(min_length=1, max_length=50)]

    report = check_with(ReserveStock)
    assert report.errors == [
        "ReserveStock v2: field 'lines[].quantity' type changed from integer to string (breaking; bump schema_version)"
    ]


def test_adding_a_required_field_is_breaking_but_an_optional_one_is_not() -> None:
    class ReleaseStock(Message, frozen=True, kw_only=True):
        schema_version = 2
        order_id: OrderId
        requested_by: str

    class StockReleased(Message, frozen=True, kw_only=True):
        schema_version = 2
        order_id: OrderId
        released_lines: int = 0
        note: str | None = None

    report = check_with(ReleaseStock, StockReleased)
    assert report.errors == [
        "ReleaseStock v2: field 'requested_by' added as required (no default) (breaking; bump schema_version)"
    ]


def test_narrowing_constraints_is_breaking() -> None:
    class ReserveStock(Message, frozen=True, kw_only=True):
        schema_version = 2
        order_id: Annotated[str, msgspec.Meta(max_length=36, pattern=r"^[0-9a-f-]{36}$")]
        lines: Annotated[list[Line], msgspec.Meta(min_length=2, max_length=20)]

    class PricedLine(msgspec.Struct, frozen=True, kw_only=True):
        sku: Annotated[str, msgspec.Meta(min_length=3, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9-]*$(?!\n)")]
        quantity: Annotated[int, msgspec.Meta(ge=1, le=10)]
        unit_price_cents: Annotated[int, msgspec.Meta(gt=0, le=100_000_000)]

    class OrderPlaced(Message, frozen=True, kw_only=True):
        schema_version = 2
        order_id: str
        customer_id: str
        lines: Annotated[list[PricedLine], msgspec.Meta(min_length=1, max_length=50)]
        total_cents: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
        currency: Annotated[str, msgspec.Meta(pattern=r"^(eur|usd)$")]
        payment_method: str

    report = check_with(ReserveStock, OrderPlaced)
    assert sorted(report.errors) == sorted(
        [
            r"ReserveStock v2: field 'order_id' pattern changed from '^[^\\x00]*$' to '^[0-9a-f-]{36}$' "
            "(breaking; bump schema_version)",
            "ReserveStock v2: field 'order_id' maxLength lowered from 64 to 36 (breaking; bump schema_version)",
            "ReserveStock v2: field 'lines' minItems raised from 1 to 2 (breaking; bump schema_version)",
            "ReserveStock v2: field 'lines' maxItems lowered from 50 to 20 (breaking; bump schema_version)",
            "OrderPlaced v2: field 'lines[].sku' minLength raised from 1 to 3 (breaking; bump schema_version)",
            "OrderPlaced v2: field 'lines[].quantity' maximum lowered from 100 to 10 (breaking; bump schema_version)",
            "OrderPlaced v2: field 'lines[].unit_price_cents' minimum raised from 0 to 1 "
            "(breaking; bump schema_version)",
            r"OrderPlaced v2: field 'currency' pattern changed from '^[a-z]{3}$(?!\\n)' to '^(eur|usd)$' "
            "(breaking; bump schema_version)",
        ]
    )


def test_widening_constraints_is_compatible() -> None:
    class ReserveStock(Message, frozen=True, kw_only=True):
        schema_version = 2
        order_id: str | None
        lines: Annotated[list[Line], msgspec.Meta(max_length=500)]

    class PaymentSucceeded(Message, frozen=True, kw_only=True):
        schema_version = 2
        order_id: str
        payment_intent_id: str
        amount_cents: float

    class PaymentDeclined(Message, frozen=True, kw_only=True):
        schema_version = 2
        order_id: str
        reason: Annotated[str, msgspec.Meta(max_length=1000)]
        decline_code: str | int | None = None

    report = check_with(ReserveStock, PaymentSucceeded, PaymentDeclined)
    assert report.ok, report.errors


def test_adding_a_bound_where_there_was_none_is_narrowing() -> None:
    """As v2 did to v1 (every string of the current versions is bounded, so the old one is the example)."""

    class PaymentSucceeded(Message, frozen=True, kw_only=True):
        order_id: str
        payment_intent_id: Annotated[str, msgspec.Meta(max_length=255)]
        amount_cents: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]

    assert schema_changes(message_schema(PaymentSucceededV1), message_schema(PaymentSucceeded)) == [
        "field 'payment_intent_id' maxLength 255 added"
    ]


def test_making_a_field_required_or_not_nullable_is_breaking() -> None:
    class PaymentDeclined(Message, frozen=True, kw_only=True):
        schema_version = 2
        order_id: str
        reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
        decline_code: str

    report = check_with(PaymentDeclined)
    assert report.errors == [
        "PaymentDeclined v2: field 'decline_code' became required (breaking; bump schema_version)",
        "PaymentDeclined v2: field 'decline_code' no longer accepts null (breaking; bump schema_version)",
    ]


def test_forbidding_unknown_fields_is_breaking() -> None:
    class StockReserved(Message, frozen=True, kw_only=True, forbid_unknown_fields=True):
        schema_version = 2
        order_id: str

    report = check_with(StockReserved)
    assert report.errors == ["StockReserved v2: the message now rejects unknown fields (breaking; bump schema_version)"]


def test_a_new_message_type_is_compatible() -> None:
    class GiftWrapRequested(Message, frozen=True, kw_only=True):
        order_id: str
        message: Annotated[str, msgspec.Meta(max_length=200)] = ""

    report = check_with(GiftWrapRequested)
    assert report.ok
    assert "GiftWrapRequested v1: new message type" in report.notes


def test_removing_a_message_type_is_breaking() -> None:
    report = check_with(drop=("StockReleased.v1.json", "StockReleased.v2.json"))
    assert report.errors == [
        f"StockReleased v{version}: message type removed (it is in released/{BASELINE.name}) "
        "(breaking; bump schema_version)"
        for version in (1, 2)
    ]


def test_a_new_type_bumped_since_the_baseline_is_compatible() -> None:
    """CommandFailed came after contracts v1 and was bumped before v3: against v1 both of its versions are new."""
    report = check_compat(generate_schemas(), load_schema_dir(RELEASES[0]))
    assert report.ok, report.errors
    assert "CommandFailed v1: new message type" in report.notes


def test_a_breaking_change_with_a_version_bump_and_a_retired_version_is_allowed() -> None:
    class ReserveStock(Message, frozen=True, kw_only=True):
        schema_version = 3
        order_id: OrderId
        items: Lines

    class ReserveStockV2(Retired, frozen=True, kw_only=True, tag="ReserveStock"):
        schema_version = 2
        order_id: OrderId
        lines: Lines

        def upgrade(self) -> ReserveStock:
            return ReserveStock(order_id=self.order_id, items=self.lines)

    report = check_with(ReserveStock, ReserveStockV2)
    assert report.ok, report.errors
    assert report.notes == [
        "ReserveStock v2 -> v3: version bumped; breaking changes: field 'lines' removed; "
        "field 'items' added as required (no default)"
    ]


def test_a_bump_needs_the_previous_version_in_the_baseline() -> None:
    class ReserveStock(Message, frozen=True, kw_only=True):
        schema_version = 3
        order_id: str

    current = generate_schemas()
    for version in (1, 2):
        del current[schema_file_name("ReserveStock", version)]
    current[schema_file_name("ReserveStock", 3)] = message_schema(ReserveStock)
    released = load_schema_dir(BASELINE)
    for version in (1, 2):  # as if someone deleted the old versions from released/
        del released[schema_file_name("ReserveStock", version)]
    report = check_compat(current, released, baseline="released/v3")
    assert report.errors == [
        "ReserveStock v3: no earlier version of ReserveStock is in released/v3; a bumped message keeps its "
        "previous schema in contracts/released/ (a new message type starts at v1)"
    ]


def test_an_envelope_change_names_the_envelope_version() -> None:
    released = load_schema_dir(BASELINE)
    current = generate_schemas()
    envelope = json.loads(json.dumps(current[ENVELOPE_FILE]))
    del envelope["$defs"]["Envelope"]["properties"]["saga_id"]
    current[ENVELOPE_FILE] = envelope
    assert check_compat(current, released, baseline="released/v3").errors == [
        f"Envelope v{ENVELOPE_SCHEMA_VERSION}: field 'saga_id' removed (breaking; bump ENVELOPE_SCHEMA_VERSION)"
    ]


def test_the_compat_command_fails_and_says_what_broke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = tmp_path / "v1"
    baseline.mkdir()
    for name, document in load_schema_dir(BASELINE).items():
        if name == "ReserveStock.v2.json":
            definition = document["$defs"]["ReserveStock"]
            definition["properties"]["gift_wrap"] = {"type": "boolean"}
        (baseline / name).write_text(json.dumps(document), encoding="utf-8")
    assert main(["compat", "--baseline", str(baseline)]) == 1
    assert "ReserveStock v2: field 'gift_wrap' removed (breaking; bump schema_version)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"type": "integer"}, {"type": "number"}, []),
        ({"type": "number"}, {"type": "integer"}, ["the message type changed from number to integer"]),
        ({"enum": ["a", "b"]}, {"enum": ["a", "b", "c"]}, []),
        ({"enum": ["a", "b"]}, {"enum": ["a"]}, ["the message no longer accepts 'b'"]),
        ({"enum": ["a", "b"]}, {"type": "string", "maxLength": 1}, []),
        ({"enum": ["ab"]}, {"type": "string", "maxLength": 1}, ["the message no longer accepts 'ab'"]),
        ({"type": "string"}, {}, []),
        ({}, {"type": "string"}, ["the message type changed from any to string"]),
        ({"type": "integer", "minimum": 1}, {"type": "integer", "exclusiveMinimum": 0}, []),
        (
            {"type": "integer", "minimum": 1},
            {"type": "integer", "exclusiveMinimum": 1},
            ["the message minimum raised from 1 to 2"],
        ),
        ({"type": "string", "format": "uuid"}, {"type": "string"}, []),
        ({"type": "string"}, {"type": "string", "format": "uuid"}, ["the message format 'uuid' added"]),
        (
            {"type": "array", "items": {"type": "integer"}},
            {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
            ["the message now requires unique items"],
        ),
        ({"type": "integer", "multipleOf": 10}, {"type": "integer", "multipleOf": 5}, []),
        (
            {"type": "integer", "multipleOf": 5},
            {"type": "integer", "multipleOf": 10},
            ["the message multipleOf changed from 5 to 10"],
        ),
    ],
)
def test_schema_changes_by_keyword(old: dict[str, Any], new: dict[str, Any], expected: list[str]) -> None:
    assert schema_changes(old, new) == expected


def test_a_recursive_type_is_compared_without_looping() -> None:
    tree = {
        "$defs": {
            "Node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}
        },
        "$ref": "#/$defs/Node",
    }
    narrowed = json.loads(json.dumps(tree))
    narrowed["$defs"]["Node"]["properties"]["children"]["maxItems"] = 2
    assert schema_changes(tree, tree) == []
    assert schema_changes(tree, narrowed) == ["field 'children' maxItems 2 added"]
