"""What a deployment provisions before the services start: their database tables and the Kafka topics.

``python -m plumbing.provision`` does both, in this order: ``migrate [SERVICE ...]`` applies each service's
migrations (all five, the gateway's users table included, by default) to its own database
(``RV_<SERVICE>_DATABASE_URL``) and, after the gateway's, adds the missing demo logins when
``RV_GATEWAY_DEMO_USERS=true`` (the gateway's own switch, false by default) or removes those that exist when it is
false; ``topics`` creates the missing topics on ``RV_KAFKA_BOOTSTRAP`` with their configured partition counts.
All are safe to repeat and to run while another copy runs. Run by the Kubernetes Jobs and the Compose init step;
the local stack calls ``ensure_topics`` itself, and every service still applies its own migrations at start-up (a
no-op once this has run).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from contracts.topics import ALL_TOPICS, PartitionCountError, configured_partitions
from gateway.adapters.passwords import Argon2Passwords
from gateway.adapters.users import SqlUsers
from gateway.services import remove_demo_logins, seed_demo_logins
from gateway.settings import GatewaySettings
from plumbing.configuration import ConfigurationError, exit_for
from plumbing.db import create_db_engine
from plumbing.kafka import client_of
from plumbing.kafka_settings import KafkaSettings
from plumbing.migrations import upgrade_to_head
from plumbing.services import ALL_SERVICES, GATEWAY
from plumbing.settings import ServiceSettings

MIGRATED = tuple(s.name for s in ALL_SERVICES)
"""Every service with a database, the gateway last (its demo logins are seeded once its table exists)."""
BROKER_DEFAULT = -1
"""A replication factor of -1 asks the broker for its ``default.replication.factor``."""


def ensure_topics(
    kafka: str | Mapping[str, Any], timeout_s: float = 30.0, replication_factor: int = BROKER_DEFAULT
) -> list[str]:
    """Create every topic in ``contracts.topics.ALL_TOPICS`` that does not exist yet; returns those this call
    created (one another process created meanwhile is not an error). ``PartitionCountError`` for a configured
    partition count that is not an integer >= 1."""
    partitions = {t.name: configured_partitions(t) for t in ALL_TOPICS}  # a bad count fails before connecting
    admin = AdminClient(client_of(kafka))
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    wanted = [
        NewTopic(
            t.name,
            num_partitions=partitions[t.name],
            replication_factor=replication_factor,
            config={"cleanup.policy": "compact"} if t.compacted else {},
        )
        for t in ALL_TOPICS
        if t.name not in existing
    ]
    if not wanted:
        return []
    created = []
    for name, future in admin.create_topics(wanted, operation_timeout=timeout_s).items():
        try:
            future.result(timeout_s)
            created.append(name)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return created


def migrate(services: list[str]) -> None:
    """Apply each service's migrations to its own database, up to the newest revision; after the gateway's, add
    or remove the demo logins as ``RV_GATEWAY_DEMO_USERS`` says."""
    for service in services:
        if service == GATEWAY.name:
            migrate_gateway()
            continue
        upgrade_to_head(service, ServiceSettings.from_env(service).database_url)
        print(f"{service}: migrated")


def migrate_gateway() -> None:
    """The gateway's users table, then its demo logins (only the missing ones: a changed password stays), or,
    with ``RV_GATEWAY_DEMO_USERS`` false, the removal of those that exist."""
    settings = GatewaySettings.load()
    upgrade_to_head(GATEWAY.name, settings.database_url)
    print(f"{GATEWAY.name}: migrated")
    engine = create_db_engine(settings.database_url, pool_size=1)
    try:
        if not settings.gateway_demo_users:
            if removed := remove_demo_logins(SqlUsers(engine)):
                print(f"{GATEWAY.name}: removed demo logins {', '.join(removed)}")
        elif added := seed_demo_logins(SqlUsers(engine), Argon2Passwords()):
            print(f"{GATEWAY.name}: added demo logins {', '.join(added)}")
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """``python -m plumbing.provision [migrate [SERVICE ...] | topics [--replication-factor N]]``."""
    parser = argparse.ArgumentParser(prog="python -m plumbing.provision", description=__doc__)
    actions = parser.add_subparsers(dest="action")
    migrating = actions.add_parser("migrate", help="apply the services' database migrations")
    migrating.add_argument("services", nargs="*", metavar="SERVICE", help=f"any of {', '.join(MIGRATED)}; default: all")
    topics = actions.add_parser("topics", help="create the missing Kafka topics")
    topics.add_argument("--replication-factor", type=int, default=BROKER_DEFAULT, help="default: the broker's")
    parser.set_defaults(services=[], replication_factor=BROKER_DEFAULT)
    args = parser.parse_args(argv)
    if args.action == "migrate" and (unknown := sorted(set(args.services) - set(MIGRATED))):
        parser.error(f"unknown service {unknown[0]!r}: expected one of {', '.join(MIGRATED)}")
    try:
        if args.action in ("migrate", None):
            migrate([s for s in MIGRATED if s in args.services] if args.services else list(MIGRATED))
        if args.action in ("topics", None):
            kafka = KafkaSettings.load_or_exit().kafka_client()
            created = ensure_topics(kafka, replication_factor=args.replication_factor)
            print("created:", ", ".join(created) or "nothing (all topics exist)")
    except (ConfigurationError, PartitionCountError) as error:
        exit_for(error)
    except (sa.exc.SQLAlchemyError, KafkaException) as error:
        print(f"{args.action or 'provision'} failed: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
