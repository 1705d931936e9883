"""A shopper's cart, kept in their browser in a signed cookie: at most ``MAX_LINES`` games, 1 to
``MAX_QUANTITY`` of each. It also remembers the last checkout (its Idempotency-Key and order), so a
double-submitted checkout finds the order the first submit placed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field, replace
from typing import Any

MAX_LINES = 20
MAX_QUANTITY = 10


class CartError(Exception):
    """A change the cart's limits refuse; the message is for the shopper."""


@dataclass(frozen=True)
class Cart:
    """Skus and quantities in the order they were added; ``checked_out`` is (Idempotency-Key, order id)."""

    lines: dict[str, int] = field(default_factory=dict)
    checked_out: tuple[str, str] | None = None

    @property
    def count(self) -> int:
        """How many items (the sum of the quantities)."""
        return sum(self.lines.values())

    def add(self, sku: str, quantity: int) -> Cart:
        """The cart with ``quantity`` more of ``sku``; ``CartError`` past the limits."""
        if not 1 <= quantity <= MAX_QUANTITY:
            raise CartError(f"Choose a quantity from 1 to {MAX_QUANTITY}.")
        if sku not in self.lines and len(self.lines) >= MAX_LINES:
            raise CartError(f"Your cart holds at most {MAX_LINES} different games.")
        total = self.lines.get(sku, 0) + quantity
        if total > MAX_QUANTITY:
            raise CartError(f"At most {MAX_QUANTITY} of a game per order.")
        return replace(self, lines={**self.lines, sku: total})

    def remove(self, sku: str) -> Cart:
        """The cart without ``sku``."""
        return replace(self, lines={k: v for k, v in self.lines.items() if k != sku})

    def placed(self, key: str, order_id: str) -> Cart:
        """The empty cart after checkout ``key`` placed ``order_id``."""
        return Cart({}, (key, order_id))


def encode(cart: Cart, key: bytes) -> str:
    """The cookie value: the cart as JSON (base64url) and its HMAC-SHA256 under ``key``."""
    payload: dict[str, Any] = {"l": [[sku, n] for sku, n in cart.lines.items()]}
    if cart.checked_out is not None:
        payload["c"] = list(cart.checked_out)
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{body}.{_mac(body, key)}"


def decode(value: str | None, key: bytes) -> Cart:
    """The cart a cookie holds; an empty one for a missing, tampered or malformed cookie (non-ASCII too:
    ``hmac.compare_digest`` refuses to compare such text)."""
    if not value or "." not in value or not value.isascii():
        return Cart()
    body, _, mac = value.rpartition(".")
    if not hmac.compare_digest(mac, _mac(body, key)):
        return Cart()
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        lines = {str(sku): int(n) for sku, n in payload["l"]}
        checked = payload.get("c")
        checked_out = (str(checked[0]), str(checked[1])) if checked else None
    except (ValueError, KeyError, TypeError, IndexError):
        return Cart()
    valid = {sku: n for sku, n in lines.items() if 1 <= n <= MAX_QUANTITY}
    return Cart(dict(list(valid.items())[:MAX_LINES]), checked_out)


def _mac(body: str, key: bytes) -> str:
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
