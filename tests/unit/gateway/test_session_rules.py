"""Where a login may send people back to (no open redirect), and the CSRF rule for cookie sessions."""

from __future__ import annotations

import pytest

from gateway.domain.session import local_path, same_origin


@pytest.mark.parametrize("path", ["/", "/orders", "/orders/o-1", "/?q=mario&platform=SNES", "/products/A%2FB"])
def test_a_local_path_is_kept(path: str) -> None:
    assert local_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        None,
        "",
        "orders",
        "//evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/orders\r\nSet-Cookie: x=1",
        "/\tevil",
        "///evil.example",
    ],
)
def test_anything_else_goes_home(path: str | None) -> None:
    assert local_path(path) == "/"


def test_safe_methods_always_pass() -> None:
    for method in ("GET", "HEAD", "OPTIONS", "get"):
        assert same_origin(method, "shop.example", None, None)


@pytest.mark.parametrize(
    ("origin", "referer", "allowed"),
    [
        ("https://shop.example", None, True),
        ("http://shop.example", "https://evil.example/", True),
        ("https://SHOP.example", None, True),
        (None, "https://shop.example/cart", True),
        ("null", "https://shop.example/cart", True),
        ("https://evil.example", "https://shop.example/cart", False),
        ("https://shop.example:8443", None, False),
        ("https://shop.example.evil.example", None, False),
        (None, "https://evil.example/?shop.example", False),
        ("null", None, False),
        (None, None, False),
        ("ftp://shop.example", None, False),
    ],
)
def test_an_unsafe_method_must_come_from_the_same_host(origin: str | None, referer: str | None, allowed: bool) -> None:
    assert same_origin("POST", "shop.example", origin, referer) is allowed
    assert same_origin("DELETE", None, origin, referer) is False
