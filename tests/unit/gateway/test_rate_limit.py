"""The token buckets that limit a customer's orders and the logins of an address and of a username."""

from __future__ import annotations

from gateway.domain.rate_limit import Allowance, LoginBuckets, TokenBuckets


def test_a_burst_then_one_per_interval() -> None:
    buckets = TokenBuckets(Allowance(burst=3, per_minute=30))
    assert [buckets.take("ada", 0.0) for _ in range(4)] == [0.0, 0.0, 0.0, 2.0]
    assert buckets.take("ada", 1.0) == 1.0
    assert buckets.take("ada", 2.0) == 0.0
    assert buckets.take("bob", 2.0) == 0.0


def test_refills_no_further_than_the_burst() -> None:
    buckets = TokenBuckets(Allowance(burst=2, per_minute=60))
    buckets.take("ada", 0.0)
    assert [buckets.take("ada", 1000.0) for _ in range(3)] == [0.0, 0.0, 1.0]


def test_memory_is_bounded_forgetting_full_buckets_first() -> None:
    buckets = TokenBuckets(Allowance(burst=1, per_minute=60), max_keys=2)
    buckets.take("idle", 0.0)
    buckets.take("busy", 59.5)
    buckets.take("new", 60.0)
    assert buckets.take("busy", 60.0) > 0
    assert buckets.take("idle", 60.0) == 0.0


def test_logins_are_limited_per_address_and_per_username_in_any_case() -> None:
    logins = LoginBuckets(TokenBuckets(Allowance(burst=3, per_minute=60)), TokenBuckets(Allowance(2, 30)))
    assert [logins.take("10.0.0.1", "Ada", 0.0), logins.take("10.0.0.2", "ada", 0.0)] == [0.0, 0.0]
    assert logins.take("10.0.0.3", "ADA", 0.0) == 2.0  # the username's two attempts are used, from any address
    assert [logins.take("10.0.0.1", name, 0.0) for name in ("bob", "carol", "dave")] == [0.0, 0.0, 1.0]
    # The address's three are used, for any name; refused, it took nothing from dave's two.
    assert [logins.take("10.0.0.9", "dave", 0.0) for _ in range(3)] == [0.0, 0.0, 2.0]
