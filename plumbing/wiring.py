"""Wiring shared by every service's composition root: Kafka clients, relay, consumer loop, health."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic

import sqlalchemy as sa
from confluent_kafka import Consumer, Producer
from litestar import Litestar, Response, get
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.template import TemplateConfig
from sqlalchemy.engine import Connection, Engine

from plumbing.batches import Limits
from plumbing.consumer import ConsumerLoop
from plumbing.consumer_state import STARTING
from plumbing.db import create_db_engine
from plumbing.http import EXCEPTION_HANDLERS, MAX_BODY_BYTES, StrictStructSchemaPlugin, serve
from plumbing.http_input import InputGuard
from plumbing.inbox_pruning import InboxPruner, Retention
from plumbing.kafka import consumer_config, credentials_refused, producer_config, topic_shortfalls
from plumbing.logs import configure_logging
from plumbing.metrics import metrics_route
from plumbing.migrations import upgrade_to_head
from plumbing.outbox import OutboxRelay
from plumbing.parked_http import ParkedOutboxController
from plumbing.routing import Routes
from plumbing.runtime import Worker, Workers
from plumbing.settings import ServiceSettings
from plumbing.tracing import configure_tracing, shutdown_tracing
from plumbing.unit_of_work import Transactions, U


@dataclass(frozen=True)
class ServiceParts(Generic[U]):
    """What a service's composition root hands to ``run_service``: its own pieces, nothing shared.

    ``unit`` binds the service's repositories to a connection; ``routes`` apply its messages; ``http`` are
    its route handlers; ``on_start`` runs once in a unit of work before serving; ``workers`` adds loops of
    its own; ``ready`` says what the service still waits for (None when ready), read in a unit of work.
    """

    name: str
    outbox: sa.Table
    inbox: sa.Table
    unit: Callable[[Connection, sa.Table], U]
    routes: Routes[U]
    http: list[Any]
    on_start: Callable[[U], None] | None = None
    workers: Callable[[Transactions[U]], list[Worker]] | None = None
    ready: Callable[[U], str | None] | None = None
    templates: TemplateConfig[Any] | None = None
    settings: ServiceSettings | None = None
    """The service's own settings object (``<service>/settings.py``); None: the shared ones, read by name."""


@dataclass
class Messaging(Generic[U]):
    """A service's outbox relay, its consumer loop, and the workers that run them."""

    relay: OutboxRelay
    consumer: ConsumerLoop[U]
    workers: Workers
    transactions: Transactions[U]


def wire_messaging(settings: ServiceSettings, parts: ServiceParts[U], engine: Engine) -> Messaging[U]:
    """Build the relay and consumer loop for the service's routes; its own workers run between them."""
    relay = OutboxRelay(
        engine,
        parts.outbox,
        lambda: Producer(producer_config(settings.kafka_client(), f"{settings.service}-{settings.instance_id}")),
        service=settings.service,
    )
    transactions = Transactions(engine, parts.outbox, parts.unit, relay.hand_over, instance=settings.instance_id)
    consumer = ConsumerLoop(
        service=settings.service,
        transactions=transactions,
        inbox=parts.inbox,
        new_consumer=lambda: Consumer(
            consumer_config(
                settings.kafka_client(), settings.service, settings.instance_id, static=settings.static_instance
            )
        ),
        routes=parts.routes,
        batch_size=settings.batch_size,
        poll_timeout_s=settings.poll_timeout_s,
        instance=settings.instance_id,
        rebalance_grace_s=settings.rebalance_grace_s,
        check_topics=lambda: topic_shortfalls(settings.kafka_client(), list(parts.routes)),
        limits=Limits(settings.max_message_bytes, settings.max_attempts, settings.retry_backoff_s),
    )
    extra = parts.workers(transactions) if parts.workers else []
    pruner = InboxPruner(engine, parts.inbox, Retention(settings.inbox_retention_s, settings.inbox_prune_every_s))
    extra.append(Worker("inbox-pruner", pruner.run))
    workers = Workers([Worker("consumer", consumer.run), *extra, Worker("outbox-relay", relay.run)])
    return Messaging(relay, consumer, workers, transactions)


def health_route(messaging: Messaging[U], ready: Callable[[U], str | None] | None = None) -> HTTPRouteHandler:
    """``GET /health``: 200 when the database answers, no worker crashed, the consumer holds partitions and
    applies them (not fenced, restarting or crashed, nor unassigned for longer than a rebalance; ``standby``, an
    instance the group gave no partition because there are more instances than partitions, is healthy) and the
    service's own ``ready`` check (if any) passes; else 503, ``reason`` saying what is wrong (``status``
    "starting" while it only has yet to start, "unavailable" otherwise). ``consumer_state`` has the consumer's
    state, since when, its partitions and since when it holds none; ``topics`` the consumed topics with fewer
    partitions than configured (a warning, not a failure).
    """

    @get("/health", sync_to_thread=True, include_in_schema=False)
    def health() -> Any:
        transactions = messaging.transactions
        try:
            with transactions.read() as uow:
                backlog = uow.conn.execute(sa.select(sa.func.count()).select_from(transactions.outbox)).scalar_one()
                waiting_for = ready(uow) if ready else None
            database = "ok"
        except sa.exc.SQLAlchemyError as error:
            backlog, database, waiting_for = -1, f"unavailable: {error.__class__.__name__}", None
        consumer = messaging.consumer
        state = consumer.state.snapshot()
        crashed = dict(messaging.workers.crashed)
        consumer_problem = consumer.state.problem()
        wrong = [f"worker {name} crashed: {error}" for name, error in crashed.items()]
        wrong += [] if database == "ok" else [f"database {database}"]
        wrong += [consumer_problem] if consumer_problem and state["state"] != STARTING else []
        starting = [consumer_problem] if consumer_problem and state["state"] == STARTING else []
        starting += [f"waiting for {waiting_for}"] if waiting_for else []
        body = {
            "status": "unavailable" if wrong else "starting" if starting else "ok",
            "reason": "; ".join(wrong + starting) or None,
            "waiting_for": waiting_for,
            "database": database,
            "consumer_assigned": bool(state["partitions"]),
            "consumer_state": state,
            "instance": getattr(consumer, "instance", None),
            "topics": getattr(consumer, "topics", {}),
            "workers_crashed": crashed,
            "outbox_backlog": backlog,
            "consumer": {**vars(consumer.stats), "errors": dict(consumer.stats.errors)},
            "published": messaging.relay.published,
        }
        return Response(body, status_code=503 if wrong or starting else 200)

    return health


def build_app(settings: ServiceSettings, parts: ServiceParts[U], messaging: Messaging[U]) -> Litestar:
    """The service's Litestar app: its routes, the parked outbox rows' routes, health, problem+json errors,
    workers in its lifespan."""
    engine = messaging.transactions.engine
    provided = dependencies(engine, messaging.transactions, settings)
    return Litestar(
        route_handlers=[
            *parts.http,
            health_route(messaging, parts.ready),
            metrics_route(settings.service, engine, parts.outbox),
            ParkedOutboxController,
        ],
        dependencies=provided,
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=MAX_BODY_BYTES,
        on_startup=[messaging.workers.start],
        on_shutdown=[messaging.workers.stop, shutdown_tracing],
        openapi_config=openapi_config(settings.service),
        # A server span per request, continuing the caller's W3C trace context if it sent one.
        plugins=[
            *api_plugins(),
            OpenTelemetryPlugin(OpenTelemetryConfig(exclude=UNTRACED_PATHS, exclude_spans=["receive", "send"])),
        ],
        logging_config=None,
        template_config=parts.templates,
    )


UNTRACED_PATHS = ["/health", "/metrics", "/schema"]
"""Polled by machines; a span per poll would bury the orders' traces."""


EngineDependency = NamedDependency[Engine]
"""A route handler parameter named ``engine``: the service's engine, for reads."""
TransactionsDependency = NamedDependency[Transactions[Any]]
"""A route handler parameter named ``transactions``: units of work, for writes."""
# A route handler parameter named ``settings`` is the service's own settings object (``NamedDependency[<its
# settings class>]``), the one the service started with.


def dependencies(
    engine: Engine | None, transactions: Transactions[Any] | None, settings: ServiceSettings | None = None
) -> dict[str, Provide]:
    """What route handlers may ask for by name: ``engine`` (reads), ``transactions`` (writes) and ``settings``
    (the service's settings object)."""
    return {
        "engine": Provide(_constant(engine), use_cache=True, sync_to_thread=False),
        "transactions": Provide(_constant(transactions), use_cache=True, sync_to_thread=False),
        "settings": Provide(_constant(settings), use_cache=True, sync_to_thread=False),
    }


def api_plugins() -> list[Any]:
    """Plugins that shape the API itself (also used to export the committed OpenAPI documents): closed struct
    schemas, and the input guard (a NUL, an over-long parameter or hostile JSON is a 400 naming the field)."""
    return [StrictStructSchemaPlugin(), InputGuard()]


def openapi_config(service: str) -> OpenAPIConfig:
    """The OpenAPI document's identity for a service (also used to export the committed documents)."""
    return OpenAPIConfig(title=f"RetroVault {service}", version="1.0.0")


def _constant(value: Any) -> Any:
    def provide() -> Any:
        return value

    return provide


def _exit_if_kafka_refuses(settings: ServiceSettings) -> None:
    """With security settings, end the process at once (one line, status 2) if Kafka refuses its credentials:
    no retry can help, and librdkafka would only log the refusal again and again."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return
    refused = credentials_refused(settings.kafka_client())
    if refused is not None:
        print(f"configuration error: Kafka at {settings.kafka_bootstrap} refused us: {refused}", file=sys.stderr)
        raise SystemExit(2)


def run_service(parts: ServiceParts[U]) -> None:
    """Migrate, wire and serve one service until it is told to stop."""
    settings = parts.settings or ServiceSettings.from_env(parts.name)
    configure_logging(parts.name, settings.instance_id, settings.log_format, settings.log_level)
    configure_tracing(parts.name, settings.instance_id, export=settings.tracing)
    _exit_if_kafka_refuses(settings)
    upgrade_to_head(parts.name, settings.database_url)
    engine = create_db_engine(settings.database_url)
    if parts.on_start is not None:
        with Transactions(engine, parts.outbox, parts.unit, instance=settings.instance_id).begin() as uow:
            parts.on_start(uow)
    messaging = wire_messaging(settings, parts, engine)
    app = build_app(settings, parts, messaging)
    # Everything built so far lives as long as the process. Out of the collector's sight, a full
    # collection no longer walks ~100k start-up objects: it was a stop-the-world pause of 90-180 ms
    # every minute or so under load, in every thread of the service.
    gc.collect()
    gc.freeze()
    serve(app, settings)
