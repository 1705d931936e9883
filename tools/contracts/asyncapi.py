"""The AsyncAPI 3.0 document of every topic, generated from ``contracts/topics.py`` and ``contracts/codecs.py``.

Channels are the topics (address, partitions, compaction; the key is read from the topic's ``purpose``),
their messages are the members of each topic's codec union (payload: the envelope around that message type),
and operations say which service sends and which receives. Who sends and who receives is not in the code
that defines topics, so it lives here, in ``FLOWS``, and nowhere else. On a topic written by several
services, each one sends the messages its own module (``contracts/<service>.py``) defines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, get_args

import msgspec

from contracts import topics
from contracts.base import Message, wire_type
from contracts.codecs import CODECS, all_message_types
from contracts.envelope import Envelope
from plumbing.services import SERVICE_NAMES
from tools.contracts.schemas import (
    ENVELOPE_NAME,
    ENVELOPE_SCHEMA_VERSION,
    REGENERATE,
    clean_descriptions,
    rename_definition,
    schema_file_name,
)

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
DOCUMENT_VERSION = "3.0.0"
"""The version of the messaging API as a whole; raise it with each new ``contracts/released/v<N>`` snapshot."""

OPERATORS = "operators"
SENT_BY_ANY = "contracts.failures"
"""The module of the replies any participant may send (a command it gave up on)."""
DEAD_LETTER_MESSAGE = "DeadLetter"


@dataclass(frozen=True)
class Flow:
    """Who writes a topic and who reads it."""

    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    key: str | None = None
    """The Kafka key, when the topic's ``purpose`` does not say (``key: ...``)."""


FLOWS: dict[str, Flow] = {
    topics.ORDER_EVENTS.name: Flow(producers=("orders",), consumers=("coordinator",)),
    topics.CATALOG_COMMANDS.name: Flow(producers=("coordinator",), consumers=("catalog",)),
    topics.PAYMENT_COMMANDS.name: Flow(producers=("coordinator",), consumers=("payment",)),
    topics.ORDERS_COMMANDS.name: Flow(producers=("coordinator",), consumers=("orders",)),
    topics.SAGA_REPLIES.name: Flow(producers=("catalog", "payment", "orders"), consumers=("coordinator",)),
    topics.PRODUCT_EVENTS.name: Flow(producers=("catalog",), consumers=("orders",)),
    topics.DEAD_LETTERS.name: Flow(producers=SERVICE_NAMES, consumers=(OPERATORS,), key="the original message's key"),
}
"""topic name -> the services that write it and those that read it: the one place this is written down."""

DEAD_LETTER_HEADERS = {
    "dlq.reason": "why no consumer could apply it (at most 2000 characters)",
    "dlq.topic": "the topic it was read from",
    "dlq.service": "the service that dead-lettered it",
    "dlq.partition": "its partition on that topic",
    "dlq.offset": "its offset in that partition",
}
"""Headers the consumer loop adds to a dead letter (plumbing/consumer.py, plumbing/unit_of_work.py)."""

_SCHEMAS = "#/components/schemas/"


def channel_id(topic: topics.Topic) -> str:
    """The channel's id in the document (AsyncAPI ids allow no dots): ``catalog.commands`` -> ``catalog_commands``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", topic.name)


def topic_key(topic: topics.Topic) -> str | None:
    """What the topic's messages are keyed by: ``FLOWS``' override, else the ``key: ...`` part of its purpose."""
    override = FLOWS[topic.name].key
    if override is not None:
        return override
    found = re.search(r"key:\s*([^;]+)", topic.purpose)
    return found.group(1).strip() if found else None


def topic_messages(topic: topics.Topic) -> list[type[Message]]:
    """The message types a topic's codec accepts, in the order of its union ([] for the dead-letter topic)."""
    codec = CODECS.get(topic.name)
    if codec is None:
        return []
    union = codec.payloads
    members = get_args(union) or (union,)
    return [member for member in members if isinstance(member, type) and issubclass(member, Message)]


def senders(topic: topics.Topic, service: str) -> list[str]:
    """The messages ``service`` writes to ``topic``: all of them, or on a shared topic those its module defines
    and those every participant may send (``contracts/failures.py``)."""
    if topic.name == topics.DEAD_LETTERS.name:
        return [DEAD_LETTER_MESSAGE]
    names = [wire_type(cls) for cls in topic_messages(topic)]
    if len(FLOWS[topic.name].producers) == 1:
        return names
    modules = (f"contracts.{service}", SENT_BY_ANY)
    return [wire_type(cls) for cls in topic_messages(topic) if cls.__module__ in modules]


def generate_asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document as a JSON-ready dict."""
    missing = {t.name for t in topics.ALL_TOPICS} ^ set(FLOWS)
    if missing:
        raise ValueError(
            f"tools/contracts/asyncapi.py FLOWS and contracts/topics.py disagree on topics: {sorted(missing)}"
        )
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    keys: dict[str, set[str]] = {}
    for topic in topics.ALL_TOPICS:
        cid = channel_id(topic)
        flow = FLOWS[topic.name]
        names = [wire_type(cls) for cls in topic_messages(topic)] or [DEAD_LETTER_MESSAGE]
        for name in names:
            keys.setdefault(name, set()).add(topic_key(topic) or "")
        channels[cid] = {
            "address": topic.name,
            "title": topic.name,
            "description": topic.purpose,
            "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in names},
            "bindings": {
                "kafka": {
                    "topic": topic.name,
                    "partitions": topic.partitions,
                    "topicConfiguration": {"cleanup.policy": ["compact" if topic.compacted else "delete"]},
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
        }
        for service in flow.producers:
            sent = senders(topic, service)
            if not sent:
                raise ValueError(f"{service} writes {topic.name} but defines none of its messages")
            operations[f"{service}_sends_{cid}"] = _operation("send", service, topic, sent)
        for service in flow.consumers:
            operations[f"{service}_receives_{cid}"] = _operation("receive", service, topic, names)
        unsent = set(names) - {name for service in flow.producers for name in senders(topic, service)}
        if unsent:
            raise ValueError(f"no service in FLOWS writes {sorted(unsent)} to {topic.name}")
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "RetroVault messages",
            "version": DOCUMENT_VERSION,
            "description": (
                f"Every Kafka topic of RetroVault, its messages and who sends and receives them. Generated from "
                f"contracts/ by `{REGENERATE}`; do not edit. Each message travels in the envelope; the JSON "
                "Schema of each payload version is also in schemas/<Type>.v<N>.json beside this file."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": _component_schemas(),
            "messages": _component_messages(keys),
            "correlationIds": {
                "correlationId": {
                    "description": "The order the message is about, shared by every message of its flow.",
                    "location": "$message.payload#/correlation_id",
                }
            },
        },
    }


def _operation(action: str, service: str, topic: topics.Topic, names: list[str]) -> dict[str, Any]:
    cid = channel_id(topic)
    verb = "sends to" if action == "send" else "receives from"
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{cid}"},
        "messages": [{"$ref": f"#/channels/{cid}/messages/{name}"} for name in names],
        "title": f"{service} {verb} {topic.name}",
        "tags": [{"name": service}],
    }


def _component_schemas() -> dict[str, Any]:
    """The envelope, every payload type and the Structs they use, referring to each other within the document."""
    message_types = all_message_types()
    _, components = msgspec.json.schema_components([Envelope[Any], *message_types], ref_template=_SCHEMAS + "{name}")
    renamed = rename_definition({"$defs": components}, "Envelope_Any_", ENVELOPE_NAME, prefix=_SCHEMAS)
    schemas: dict[str, Any] = clean_descriptions(renamed["$defs"])
    for cls in message_types:
        name = wire_type(cls)
        schemas[f"{name}Envelope"] = {
            "title": f"Envelope[{name}] v{cls.schema_version}",
            "description": f"The envelope around a {name} v{cls.schema_version}.",
            "allOf": [
                {"$ref": _SCHEMAS + ENVELOPE_NAME},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": name},
                        "schema_version": {"const": cls.schema_version},
                        "payload": {"$ref": _SCHEMAS + name},
                    },
                },
            ],
        }
    return schemas


def _component_messages(keys: dict[str, set[str]]) -> dict[str, Any]:
    messages: dict[str, Any] = {}
    for cls in all_message_types():
        name = wire_type(cls)
        message: dict[str, Any] = {
            "name": name,
            "title": f"{name} v{cls.schema_version}",
            "summary": (cls.__doc__ or name).strip().splitlines()[0],
            "contentType": "application/json",
            "payload": {"$ref": f"{_SCHEMAS}{name}Envelope"},
            "correlationId": {"$ref": "#/components/correlationIds/correlationId"},
            "x-schema-file": f"schemas/{schema_file_name(name, cls.schema_version)}",
            "x-envelope-schema-file": f"schemas/{schema_file_name(ENVELOPE_NAME, ENVELOPE_SCHEMA_VERSION)}",
        }
        key = keys.get(name, set())
        if len(key) == 1 and "" not in key:
            message["bindings"] = {
                "kafka": {
                    "key": {"type": "string", "description": next(iter(key))},
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            }
        messages[name] = message
    messages[DEAD_LETTER_MESSAGE] = {
        "name": DEAD_LETTER_MESSAGE,
        "title": "A dead letter",
        "summary": "A message no consumer could apply: its original bytes, key and headers, plus why.",
        "contentType": "application/octet-stream",
        "payload": {"description": "The original message's bytes, unchanged (they may not even be JSON)."},
        "headers": {
            "type": "object",
            "description": "The original message's headers, plus these.",
            "properties": {
                header: {"type": "string", "description": text} for header, text in DEAD_LETTER_HEADERS.items()
            },
            "required": sorted(DEAD_LETTER_HEADERS),
            "additionalProperties": {"type": "string"},
        },
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": FLOWS[topics.DEAD_LETTERS.name].key},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }
    return messages
