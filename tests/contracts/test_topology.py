"""Topics, codecs, the FLOWS table and the AsyncAPI document agree with each other and with the services."""

from __future__ import annotations

import importlib
from typing import Any, cast

import pytest

from contracts import topics
from contracts.codecs import CODECS, all_message_types
from plumbing.routing import Routes
from plumbing.services import SERVICE_NAMES as SERVICES
from tools.contracts.asyncapi import (
    FLOWS,
    OPERATORS,
    SENT_BY_ANY,
    channel_id,
    generate_asyncapi,
    topic_key,
    topic_messages,
)


def _routes(service: str) -> Routes[Any]:
    """A service's routing table (topic -> message type -> handler): what it really consumes."""
    return cast(Routes[Any], importlib.import_module(f"{service}.entrypoints.messages").ROUTES)


def test_every_message_type_travels_on_exactly_one_topic() -> None:
    carried = [cls for t in topics.ALL_TOPICS for cls in topic_messages(t)]
    assert sorted(carried, key=lambda cls: cls.__name__) == all_message_types()


def test_every_topic_but_the_dead_letters_has_a_codec() -> None:
    assert set(CODECS) == {t.name for t in topics.ALL_TOPICS} - {topics.DEAD_LETTERS.name}


def test_flows_name_every_topic_and_only_known_services() -> None:
    assert set(FLOWS) == {t.name for t in topics.ALL_TOPICS}
    for flow in FLOWS.values():
        assert set(flow.producers) <= set(SERVICES)
        assert set(flow.consumers) <= {*SERVICES, OPERATORS}


@pytest.mark.parametrize("service", SERVICES)
def test_flows_consumers_match_the_services_routing_tables(service: str) -> None:
    routes = _routes(service)
    expected = {name for name, flow in FLOWS.items() if service in flow.consumers}
    assert set(routes) == expected, f"tools/contracts/asyncapi.py FLOWS disagrees with {service}'s ROUTES"
    for topic in routes:
        carried = {cls.__name__ for t in topics.ALL_TOPICS if t.name == topic for cls in topic_messages(t)}
        assert set(routes[topic]) == carried, f"{service} does not handle every message of {topic}"


def test_every_topic_with_messages_says_what_they_are_keyed_by() -> None:
    for topic in topics.ALL_TOPICS:
        assert topic_key(topic), f"{topic.name}: add 'key: ...' to its purpose in contracts/topics.py"


def test_the_asyncapi_document_describes_every_topic_and_operation() -> None:
    document = generate_asyncapi()
    assert document["asyncapi"] == "3.0.0"
    for topic in topics.ALL_TOPICS:
        channel = document["channels"][channel_id(topic)]
        kafka = channel["bindings"]["kafka"]
        assert (channel["address"], kafka["partitions"]) == (topic.name, topic.partitions)
        assert kafka["topicConfiguration"]["cleanup.policy"] == ["compact" if topic.compacted else "delete"]
        flow = FLOWS[topic.name]
        sent: set[str] = set()
        for service in flow.producers:
            operation = document["operations"][f"{service}_sends_{channel_id(topic)}"]
            assert operation["action"] == "send"
            sent |= {ref["$ref"].rsplit("/", 1)[1] for ref in operation["messages"]}
        assert sent == set(channel["messages"])
        for service in flow.consumers:
            operation = document["operations"][f"{service}_receives_{channel_id(topic)}"]
            assert {ref["$ref"].rsplit("/", 1)[1] for ref in operation["messages"]} == set(channel["messages"])


def test_each_reply_is_sent_by_the_service_that_owns_it() -> None:
    document = generate_asyncapi()
    replies = channel_id(topics.SAGA_REPLIES)
    for service in FLOWS[topics.SAGA_REPLIES.name].producers:
        operation = document["operations"][f"{service}_sends_{replies}"]
        for ref in operation["messages"]:
            name = ref["$ref"].rsplit("/", 1)[1]
            owner = next(cls for cls in all_message_types() if cls.__name__ == name).__module__
            assert owner in (f"contracts.{service}", SENT_BY_ANY)


def test_asyncapi_references_resolve() -> None:
    document = generate_asyncapi()

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return own + [ref for value in node.values() for ref in refs(value)]
        if isinstance(node, list):
            return [ref for item in node for ref in refs(item)]
        return []

    for ref in refs(document):
        assert ref.startswith("#/"), ref
        target: Any = document
        for part in ref[2:].split("/"):
            assert part in target, f"unresolved $ref {ref}"
            target = target[part]
