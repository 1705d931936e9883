"""Prometheus metrics every service exposes on ``GET /metrics``, defined once here."""

from __future__ import annotations

import sqlalchemy as sa
from litestar import Response, get
from litestar.handlers import HTTPRouteHandler
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy.engine import Engine

from plumbing.db import reading
from plumbing.parked import count_parked

MESSAGES = Counter(
    "rv_messages_total",
    "Messages consumed, by outcome (applied, duplicate, dead_lettered)",
    ["service", "topic", "outcome"],
)
BATCH_SECONDS = Histogram("rv_consumer_batch_seconds", "Time to apply one consumed batch", ["service"])
CONSUMER_LAG = Gauge("rv_consumer_lag", "Messages not yet consumed, per partition", ["service", "topic", "partition"])
ASSIGNED_PARTITIONS = Gauge(
    "rv_consumer_assigned_partitions", "Partitions the instance's consumer holds", ["service", "instance"]
)
PUBLISHED = Counter("rv_outbox_published_total", "Messages the outbox relay published", ["service", "topic"])
OUTBOX_BACKLOG = Gauge("rv_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_PARKED = Gauge("rv_outbox_parked", "Outbox rows Kafka refused for good, parked for an operator", ["service"])
GROUP_COMMIT_SIZE = Histogram(
    "rv_group_commit_batch_size",
    "Requests that shared one transaction (group commit)",
    ["group"],
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
STRIPE_CALLS = Counter("rv_stripe_calls_total", "Calls to Stripe by operation and outcome", ["operation", "outcome"])


def metrics_route(service: str, engine: Engine, outbox: sa.Table) -> HTTPRouteHandler:
    """``GET /metrics`` in Prometheus' text format (the outbox backlog and parked rows are counted at scrape time)."""

    @get("/metrics", sync_to_thread=True, include_in_schema=False)
    def metrics() -> Response[bytes]:
        try:
            with reading(engine) as conn:
                OUTBOX_BACKLOG.labels(service).set(
                    conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
                )
                OUTBOX_PARKED.labels(service).set(count_parked(conn))
        except sa.exc.SQLAlchemyError:
            OUTBOX_BACKLOG.labels(service).set(float("nan"))
            OUTBOX_PARKED.labels(service).set(float("nan"))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return metrics
