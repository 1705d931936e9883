"""Token buckets: how many orders a customer may place in a burst, how many logins an address or a username may
try, and how fast that refills."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Allowance:
    """``burst`` orders at once, then one every ``60 / per_minute`` seconds."""

    burst: int
    per_minute: float


@dataclass
class TokenBuckets:
    """One bucket per key (a customer, an address, a username), refilled by the time that passed (``now`` in
    seconds, monotonic).

    ``max_keys`` bounds memory: when full, buckets that are full again (idle long enough) are forgotten first.
    """

    allowance: Allowance
    max_keys: int = 100_000
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str, now: float) -> float:
        """Take one token for ``key``: 0.0 when allowed, else how many seconds until a token is back."""
        rate = self.allowance.per_minute / 60.0
        tokens, since = self._buckets.get(key, (float(self.allowance.burst), now))
        tokens = min(float(self.allowance.burst), tokens + (now - since) * rate)
        if tokens >= 1.0:
            self._remember(key, (tokens - 1.0, now), now)
            return 0.0
        self._remember(key, (tokens, now), now)
        return (1.0 - tokens) / rate if rate > 0 else float("inf")

    def _remember(self, key: str, bucket: tuple[float, float], now: float) -> None:
        if key not in self._buckets and len(self._buckets) >= self.max_keys:
            self._forget_refilled(now)
        self._buckets[key] = bucket

    def _forget_refilled(self, now: float) -> None:
        rate = self.allowance.per_minute / 60.0
        burst = float(self.allowance.burst)
        full = [k for k, (tokens, since) in self._buckets.items() if tokens + (now - since) * rate >= burst]
        for key in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[key]


@dataclass
class LoginBuckets:
    """Login attempts: a bucket per client address (guessing many names) and one per username, in any case
    (guessing one user's password from many addresses)."""

    by_address: TokenBuckets
    by_username: TokenBuckets

    def take(self, address: str, username: str, now: float) -> float:
        """Take one attempt: 0.0 when allowed, else how many seconds until one is back. An address over its
        limit takes nothing from the username's bucket, so it cannot lock that user out on its own."""
        wait = self.by_address.take(address, now)
        return wait if wait > 0 else self.by_username.take(username.casefold(), now)
