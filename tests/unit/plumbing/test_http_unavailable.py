"""What a 503 says when the database did not answer: a read changed nothing; a change may have been made."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from litestar import Litestar, get, post
from litestar.testing import TestClient

from plumbing.http import EXCEPTION_HANDLERS, if_unavailable
from tests.unit.http import Client


def connection_lost() -> sa.exc.OperationalError:
    error = psycopg.OperationalError("server closed the connection unexpectedly")
    return sa.exc.OperationalError("COMMIT", None, error, connection_invalidated=True)


@get("/read", sync_to_thread=False)
def read() -> None:
    raise connection_lost()


@post("/change", sync_to_thread=False)
def change() -> None:
    raise connection_lost()


@post("/order", sync_to_thread=False, opt=if_unavailable("the order may have been created; retry with its key"))
def order() -> None:
    raise connection_lost()


@post("/broken", sync_to_thread=False)
def broken() -> None:
    raise sa.exc.DataError("INSERT", None, psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"))


@pytest.fixture
def client() -> Iterator[Client]:
    app = Litestar(route_handlers=[read, change, order, broken], exception_handlers=EXCEPTION_HANDLERS)
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "consequence"),
    [
        ("GET", "/read", "nothing was changed; retry later"),
        ("POST", "/change", "the change may or may not have been made; retry the same request"),
        ("POST", "/order", "the order may have been created; retry with its key"),
    ],
)
def test_a_503_tells_what_may_have_happened(client: Client, method: str, path: str, consequence: str) -> None:
    response = client.request(method, path)
    assert (response.status_code, response.headers["retry-after"]) == (503, "1")
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Service unavailable",
        "status": 503,
        "detail": f"the database did not answer: {consequence}",
    }


def test_a_database_error_that_is_not_an_outage_is_a_500(client: Client) -> None:
    response = client.post("/broken")
    assert (response.status_code, "retry-after" in response.headers) == (500, False)
    assert response.json()["detail"] == "the server could not handle the request"
