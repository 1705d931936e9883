"""The token bucket that limits a customer's orders."""

from __future__ import annotations

from gateway.domain.rate_limit import Allowance, TokenBuckets


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
