"""The committed OpenAPI documents are what the services' code generates."""

from __future__ import annotations

import json

from tools import openapi


def test_committed_openapi_documents_are_current() -> None:
    assert openapi.stale() == []


def test_the_order_api_documents_its_body_and_answers() -> None:
    document = json.loads(openapi.document("orders"))
    post = document["paths"]["/orders"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("PlaceOrderBody")
    assert "202" in post["responses"]
