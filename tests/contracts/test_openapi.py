"""The committed OpenAPI documents are what the services' code generates."""

from __future__ import annotations

import json

from tools import openapi
from tools.gateway_openapi import compose


def test_committed_openapi_documents_are_current() -> None:
    assert openapi.stale() == []


def test_the_order_api_documents_its_body_and_answers() -> None:
    document = json.loads(openapi.document("orders"))
    post = document["paths"]["/orders"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("PlaceOrderBody")
    assert "202" in post["responses"]


def test_the_gateway_document_says_who_may_call_each_public_operation() -> None:
    paths = json.loads(openapi.gateway_document())["paths"]
    roles = {
        f"{m.upper()} {p}": op["x-required-role"]
        for p, item in paths.items()
        if p.startswith("/api/")
        for m, op in item.items()
    }
    assert roles["GET /api/products/{sku}"] == "anonymous"
    assert roles["POST /api/orders"] == roles["GET /api/orders/{order_id}"] == "customer"
    assert roles["PUT /api/products/{sku}/stock"] == roles["POST /api/sagas/{saga_id}/replay"] == "operator"
    assert paths["/api/sagas"]["get"]["security"] == [{"bearer": []}]
    assert {"401", "403", "502", "503", "504"} <= set(paths["/api/sagas"]["get"]["responses"])
    assert "429" in paths["/api/orders"]["post"]["responses"]
    assert not [p for p in paths if "outbox" in p or not p.startswith(("/api/", "/auth/", "/.well-known/"))]


def test_a_route_a_service_adds_reaches_the_gateway_document_by_itself() -> None:
    catalog = json.loads((openapi.OUT / "catalog.json").read_text())
    reviews = {"operationId": "ProductReviews", "responses": {"200": {"description": "the reviews"}}}
    catalog["paths"]["/products/{sku}/reviews"] = {"get": reviews}
    composed = compose({"openapi": "3.1.0", "paths": {}}, {"catalog": catalog})
    assert composed["paths"]["/api/products/{sku}/reviews"]["get"]["x-required-role"] == "operator"
    assert "/api/outbox/parked" not in composed["paths"] and "/outbox/parked" not in composed["paths"]
