"""Two schema versions of one message type: the retired one is decoded and upgraded, and compat requires it.

The scenario is built here, as in test_compat.py: ``ReserveStock`` v3 adds a required ``warehouse``, and
``ReserveStockV2`` (a retired class) keeps the released v2 shape and upgrades it. Classes defined in this module
are ignored by ``all_message_types`` (their module is not ``contracts``). This module does not use
``from __future__ import annotations``, so annotations may refer to the local classes.

The registered retired versions (``contracts/retired/``: v1 of every type, whose v2 bounds every string) are
tested at the end: each upgrades, or is rejected saying which bound it breaks.
"""

import gc
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.base import Line, Lines, Message, OrderId, Retired, wire_type
from contracts.catalog import ReleaseStock
from contracts.codecs import CODECS, Codec, all_message_types
from contracts.envelope import wrap
from contracts.retired import RETIRED
from contracts.retired.catalog import ReserveStockV1
from tests.contracts.strategies import SETTINGS, envelopes
from tests.contracts.support import BASELINE, ENVELOPE_FILE, check_with
from tools.contracts.compat import check_compat
from tools.contracts.schemas import (
    RELEASED_DIR,
    generate_schemas,
    load_schema_dir,
    message_schema,
    schema_file_name,
)

GOLDEN = Path(__file__).parent / "golden" / "ReserveStock" / "valid"
GOLDEN_V1 = GOLDEN / "v1_typical.json"
GOLDEN_V2 = GOLDEN / "v2_typical.json"
DEFAULT_WAREHOUSE = "main"


class ReserveStock(Message, frozen=True, kw_only=True):
    """v3: a reservation names the warehouse it takes stock from."""

    schema_version = 3
    order_id: OrderId
    lines: Lines
    warehouse: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class ReserveStockV2(Retired, frozen=True, kw_only=True, tag="ReserveStock"):
    """Reserve every line of an order, or none of them."""

    schema_version = 2
    order_id: OrderId
    lines: Lines

    def upgrade(self) -> ReserveStock:
        return ReserveStock(order_id=self.order_id, lines=self.lines, warehouse=DEFAULT_WAREHOUSE)


CatalogCommandV3 = ReserveStock | ReleaseStock
CODEC: Codec[Any] = Codec(CatalogCommandV3, retired=[ReserveStockV2])
LINES = [Line(sku="NES-SMB3", quantity=2)]


def _raw(payload: Message, *, envelope_type: str | None = None, schema_version: int | None = None) -> bytes:
    """An envelope's bytes, with its ``type`` or ``schema_version`` overridden to build invalid ones."""
    document = msgspec.to_builtins(wrap(payload, correlation_id="order-1"))
    if envelope_type is not None:
        document["type"] = envelope_type
    if schema_version is not None:
        document["schema_version"] = schema_version
    return msgspec.json.encode(document)


def _rejected(codec: Codec[Any], data: bytes) -> str:
    with pytest.raises(msgspec.ValidationError) as raised:
        codec.decode(data)
    return str(raised.value)


# -- the codec


def test_a_v2_message_is_decoded_and_upgraded_to_v3() -> None:
    sent = wrap(ReserveStockV2(order_id="order-1", lines=LINES), correlation_id="order-1")
    assert (sent.type, sent.schema_version) == ("ReserveStock", 2)

    decoded = CODEC.decode(Codec.encode(sent))

    assert decoded.payload == ReserveStock(order_id="order-1", lines=LINES, warehouse=DEFAULT_WAREHOUSE)
    assert type(decoded.payload) is ReserveStock
    assert decoded.schema_version == 3
    assert decoded == msgspec.structs.replace(sent, payload=decoded.payload, schema_version=3)


def test_a_released_v2_sample_is_upgraded() -> None:
    decoded = CODEC.decode(GOLDEN_V2.read_bytes())
    assert type(decoded.payload) is ReserveStock
    assert decoded.payload.warehouse == DEFAULT_WAREHOUSE
    assert [line.sku for line in decoded.payload.lines] == ["SNES-CHRONO", "NES-SMB3"]


def test_a_v3_message_is_decoded_as_it_is() -> None:
    sent = wrap(ReserveStock(order_id="order-1", lines=LINES, warehouse="north"), correlation_id="order-1")
    assert CODEC.decode(Codec.encode(sent)) == sent


def test_a_type_without_retired_versions_is_unaffected() -> None:
    sent = wrap(ReleaseStock(order_id="order-1"), correlation_id="order-1")
    assert CODEC.decode(Codec.encode(sent)) == sent


@pytest.mark.parametrize(
    "payload",
    [
        ReserveStock(order_id="order-1", lines=LINES, warehouse="north"),  # decodes as v3, then the version is wrong
        ReserveStockV2(order_id="order-1", lines=LINES),  # does not even decode as v3
    ],
    ids=["v3 shape", "v2 shape"],
)
@pytest.mark.parametrize("version", [4, 1, 0, 42])
def test_a_version_nobody_reads_is_rejected_clearly(payload: Message, version: int) -> None:
    assert _rejected(CODEC, _raw(payload, schema_version=version)) == (
        f"unsupported schema_version {version} for ReserveStock (this service reads v2, v3)"
    )


def test_an_invalid_v2_message_is_rejected_for_what_is_wrong_with_it() -> None:
    document = json.loads(GOLDEN_V2.read_bytes())
    document["payload"]["lines"][0]["quantity"] = 0
    assert "Expected `int` >= 1 - at `$.payload.lines[0].quantity`" in _rejected(CODEC, json.dumps(document).encode())


def test_an_invalid_v3_message_is_still_rejected_for_what_is_wrong_with_it() -> None:
    document = json.loads(_raw(ReserveStock(order_id="order-1", lines=LINES, warehouse="north")))
    document["payload"]["warehouse"] = ""
    assert "Expected `str` of length >= 1 - at `$.payload.warehouse`" in _rejected(CODEC, json.dumps(document).encode())


def test_a_v2_payload_must_carry_its_type_like_a_current_one() -> None:
    document = json.loads(GOLDEN_V2.read_bytes())
    del document["payload"]["type"]
    assert "Object missing required field `type` - at `$.payload`" in _rejected(CODEC, json.dumps(document).encode())


def test_a_v2_envelope_must_name_its_payloads_type() -> None:
    data = _raw(ReleaseStock(order_id="order-1"), envelope_type="ReserveStock", schema_version=2)
    assert _rejected(CODEC, data) == "envelope type 'ReserveStock' does not match payload type 'ReleaseStock'"


def test_upcasters_can_chain_through_retired_versions() -> None:
    class ReserveStockV3(Message, frozen=True, kw_only=True, tag="ReserveStock"):
        schema_version = 3
        order_id: str
        lines: Lines
        warehouse: str
        priority: int

    class ReserveStockV2(Retired, frozen=True, kw_only=True, tag="ReserveStock"):
        schema_version = 2
        order_id: str
        lines: Lines
        warehouse: str

        def upgrade(self) -> ReserveStockV3:
            return ReserveStockV3(order_id=self.order_id, lines=self.lines, warehouse=self.warehouse, priority=0)

    class ReserveStockV1Chained(Retired, frozen=True, kw_only=True, tag="ReserveStock"):
        schema_version = 1
        order_id: str
        lines: Lines

        def upgrade(self) -> ReserveStockV2:
            return ReserveStockV2(order_id=self.order_id, lines=self.lines, warehouse=DEFAULT_WAREHOUSE)

    codec: Codec[Any] = Codec(ReserveStockV3, retired=[ReserveStockV1Chained, ReserveStockV2])
    decoded = codec.decode(GOLDEN_V1.read_bytes())
    assert type(decoded.payload) is ReserveStockV3
    assert (decoded.payload.warehouse, decoded.payload.priority, decoded.schema_version) == (DEFAULT_WAREHOUSE, 0, 3)
    assert codec.readable_versions("ReserveStock") == [1, 2, 3]


def test_an_upcaster_that_does_not_reach_the_current_version_is_a_decoding_error() -> None:
    class ReserveStockV2Broken(Retired, frozen=True, kw_only=True, tag="ReserveStock"):
        schema_version = 2
        order_id: str
        lines: Lines

        def upgrade(self) -> Message:
            return ReleaseStock(order_id=self.order_id)

    codec: Codec[Any] = Codec(CatalogCommandV3, retired=[ReserveStockV2Broken])
    assert _rejected(codec, GOLDEN_V2.read_bytes()) == (
        "ReserveStock v2 could not be upgraded: it led to ReleaseStock v2, not ReserveStock v3"
    )


def test_an_upgraded_message_is_held_to_the_current_versions_constraints() -> None:
    """A Struct's constructor checks no constraint; the codec checks what an upcaster built, as a decoder would."""

    class ReserveStockV2Careless(Retired, frozen=True, kw_only=True, tag="ReserveStock"):
        schema_version = 2
        order_id: str
        lines: Lines

        def upgrade(self) -> ReserveStock:
            return ReserveStock(order_id=self.order_id, lines=self.lines, warehouse="")

    codec: Codec[Any] = Codec(CatalogCommandV3, retired=[ReserveStockV2Careless])
    assert _rejected(codec, GOLDEN_V2.read_bytes()) == (
        "ReserveStock v2 could not be upgraded to v3: Expected `str` of length >= 1 - at `$.payload.warehouse`"
    )


def test_a_codec_refuses_retired_classes_it_cannot_use() -> None:
    class NoTag(Retired, frozen=True, kw_only=True):
        schema_version = 1

        def upgrade(self) -> Message:
            raise AssertionError

    class NoVersion(Retired, frozen=True, kw_only=True, tag="ReserveStock"):
        def upgrade(self) -> Message:
            raise AssertionError

    class NotOlder(Retired, frozen=True, kw_only=True, tag="ReserveStock"):
        schema_version = 3

        def upgrade(self) -> Message:
            raise AssertionError

    class NoUpcaster(Retired, frozen=True, kw_only=True, tag="ReserveStock"):
        schema_version = 2

    cases: list[tuple[list[type[Retired]], str]] = [
        ([NoTag], "its wire type 'NoTag' is not in this codec's union"),
        ([NoVersion], "it must set schema_version"),
        ([NotOlder], "its schema_version 3 is not below the current ReserveStock's (3)"),
        ([NoUpcaster], "it must implement upgrade()"),
        ([ReserveStockV2, ReserveStockV2], "ReserveStock v2 is already read by ReserveStockV2"),
    ]
    for retired, problem in cases:
        with pytest.raises(TypeError, match=re.escape(problem)):
            Codec(CatalogCommandV3, retired=retired)


# -- the registry (contracts/retired/)


def _codec_reading(cls: type[Retired]) -> Codec[Any]:
    (codec,) = [codec for codec in CODECS.values() if cls in codec.retired.values()]
    return codec


@pytest.mark.parametrize("cls", RETIRED, ids=lambda cls: cls.__qualname__)
@SETTINGS
@given(data=st.data())
def test_a_current_message_sent_as_a_retired_version_decodes_to_itself(cls: type[Retired], data: st.DataObject) -> None:
    """v2 of every type kept v1's fields and narrowed them: a valid v2 message is a valid v1 message, upgraded as is."""
    codec = _codec_reading(cls)
    sent = data.draw(envelopes(codec.current[wire_type(cls)]))
    as_retired = msgspec.structs.replace(sent, schema_version=cls.schema_version)
    assert codec.decode(Codec.encode(as_retired)) == sent


@pytest.mark.parametrize("cls", RETIRED, ids=lambda cls: cls.__qualname__)
@SETTINGS
@given(data=st.data())
def test_a_retired_message_is_upgraded_to_a_valid_one_or_rejected_saying_why(
    cls: type[Retired], data: st.DataObject
) -> None:
    """Any valid message of a retired version (its ids unbounded, NUL allowed...) either upgrades to a current message
    that is valid itself, or is rejected naming the version, the bound it breaks and where (to be dead-lettered)."""
    codec = _codec_reading(cls)
    current = codec.current[wire_type(cls)]
    try:
        decoded = codec.decode(Codec.encode(data.draw(envelopes(cls))))
    except msgspec.ValidationError as refused:
        prefix = f"{wire_type(cls)} v{cls.schema_version} could not be upgraded to v{current.schema_version}: Expected "
        assert str(refused).startswith(prefix)
        assert " - at `$.payload" in str(refused)
        return
    assert type(decoded.payload) is current
    assert decoded.schema_version == current.schema_version
    assert codec.decode(Codec.encode(decoded)) == decoded


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda p: p.update(order_id="o" * 65), "Expected `str` of length <= 64 - at `$.payload.order_id`"),
        (
            lambda p: p.update(order_id="order\x001"),
            r"Expected `str` matching regex '^[^\\x00]*$' - at `$.payload.order_id`",
        ),
        (
            lambda p: p["lines"][1].update(sku="NES-SMB3\n"),
            r"Expected `str` matching regex '^[A-Z0-9][A-Z0-9-]*$(?!\\n)' - at `$.payload.lines[1].sku`",
        ),
    ],
    ids=["order id of 65", "NUL in order id", "sku with a final newline"],
)
def test_a_v1_message_v2_refuses_is_rejected_saying_why(change: Callable[[Any], None], error: str) -> None:
    document = json.loads(GOLDEN_V1.read_bytes())
    change(document["payload"])
    assert _rejected(CODECS["catalog.commands"], json.dumps(document).encode()) == (
        f"ReserveStock v1 could not be upgraded to v2: {error}"
    )


def test_every_registered_retired_version_is_read_by_exactly_one_topic() -> None:
    for cls in RETIRED:
        readers = [topic for topic, codec in CODECS.items() if cls in codec.retired.values()]
        assert len(readers) == 1, f"{cls.__qualname__} ({wire_type(cls)} v{cls.schema_version}) is read by {readers}"


def test_all_message_types_leaves_retired_versions_out() -> None:
    class ReserveStockV0(Retired, frozen=True, kw_only=True, tag="ReserveStock"):
        __module__ = "contracts.catalog"  # as if it were defined in the package
        schema_version = 0

    try:
        types = all_message_types()
        assert not [cls for cls in types if issubclass(cls, Retired)]
        assert [wire_type(cls) for cls in types].count("ReserveStock") == 1
    finally:
        del ReserveStockV0
        gc.collect()


# -- schemas and compat


def test_a_retired_version_has_its_own_schema_file_named_after_its_wire_type() -> None:
    documents = generate_schemas([ReserveStock, ReserveStockV2])
    assert sorted(documents) == [ENVELOPE_FILE, "ReserveStock.v2.json", "ReserveStock.v3.json"]
    retired = documents["ReserveStock.v2.json"]
    assert (retired["x-name"], retired["x-schema-version"], retired["$ref"]) == (
        "ReserveStock",
        2,
        "#/$defs/ReserveStock",
    )
    assert "ReserveStockV2" in retired["$comment"]


def test_the_structs_a_retired_version_nests_keep_their_released_names() -> None:
    """``LineV1`` (the v1 shape of ``Line``) is ``Line`` in ReserveStock v1's schema, as it was released."""
    document = message_schema(ReserveStockV1)
    assert sorted(document["$defs"]) == ["Line", "ReserveStock"]
    assert document["$defs"]["ReserveStock"]["properties"]["lines"]["items"] == {"$ref": "#/$defs/Line"}
    released = load_schema_dir(RELEASED_DIR / "v2")["ReserveStock.v1.json"]
    assert {**document, "$comment": ""} == {**released, "$comment": ""}


def test_generation_writes_the_registered_retired_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tools.contracts.schemas.RETIRED", (ReserveStockV2,))
    assert "test_versions.ReserveStockV2" in generate_schemas()["ReserveStock.v2.json"]["$comment"]


def test_a_bump_without_a_retired_version_is_an_error() -> None:
    report = check_with(ReserveStock, drop=("ReserveStock.v2.json",))
    assert report.errors == [
        "ReserveStock v2: no longer decodable: bumped to v3 without a retired ReserveStock v2 "
        "(add one with upgrade() to contracts/retired/)"
    ]


def test_a_bump_with_a_retired_version_is_allowed() -> None:
    report = check_with(ReserveStock, ReserveStockV2)
    assert report.ok, report.errors
    assert report.notes == [
        "ReserveStock v2 -> v3: version bumped; breaking changes: field 'warehouse' added as required (no default)"
    ]


def test_a_retired_version_must_keep_its_released_shape() -> None:
    class ReserveStockV2Changed(Retired, frozen=True, kw_only=True, tag="ReserveStock"):
        schema_version = 2
        order_id: uuid.UUID

        def upgrade(self) -> ReserveStock:
            return ReserveStock(order_id=str(self.order_id), lines=LINES, warehouse=DEFAULT_WAREHOUSE)

    report = check_with(ReserveStock, ReserveStockV2Changed)
    assert report.errors == [
        "ReserveStock v2: field 'lines' removed (breaking; a retired version must keep its released shape)",
        "ReserveStock v2: field 'order_id' format 'uuid' added (breaking; a retired version must keep its released "
        "shape)",
    ]


def test_a_retired_version_can_be_dropped_once_it_was_released_as_retired() -> None:
    released = load_schema_dir(BASELINE)
    released[schema_file_name("ReserveStock", 3)] = message_schema(ReserveStock)
    current = generate_schemas()
    del current["ReserveStock.v2.json"]
    current[schema_file_name("ReserveStock", 3)] = message_schema(ReserveStock)
    report = check_compat(current, released, baseline="released/v4")
    assert report.ok, report.errors
    assert report.notes == ["ReserveStock v2: retired version dropped (it is no longer decoded)"]
