"""``retrovault outbox``: outbox rows Kafka refused for good, parked in each service: list, retry, discard.

Each command talks to the service(s) it names (``RV_<SERVICE>_URL``, else the local stack's address), not to
the coordinator the dispatcher hands it.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from coordinator.entrypoints.cli_http import Api, out, print_json
from coordinator.entrypoints.cli_settings import cli_settings
from plumbing.services import SERVICE_NAMES


def service_api(name: str) -> Api:
    """The HTTP client for one service's API."""
    return Api(name, cli_settings().url(name))


def outbox_parked(args: argparse.Namespace, _coordinator: Api) -> None:
    """Every service's parked rows (or one's, with ``--service``), newest first within each service."""
    services = [args.service] if args.service else list(SERVICE_NAMES)
    rows = [
        {"service": name, **row}
        for name in services
        for row in service_api(name).call("GET", "/outbox/parked", params={"limit": args.limit})
    ]
    if args.json:
        print_json(rows)
        return
    if not rows:
        out.print(f"nothing parked in {', '.join(services)}")
        return
    table = Table("service", "id", "topic", "type", "bytes", "tries", "parked (UTC)", "error")
    for r in rows:
        table.add_row(
            r["service"],
            str(r["id"]),
            r["topic"],
            r["message_type"] or "-",
            str(r["size_bytes"]),
            str(r["attempts"]),
            r["parked_at"],
            r["error"],
        )
    out.print(table)


def outbox_retry(args: argparse.Namespace, _coordinator: Api) -> None:
    """Move one parked row back into its service's outbox; the relay publishes it at once."""
    result = service_api(args.service).call("POST", f"/outbox/parked/{args.id}/retry")
    if args.json:
        print_json(result)
    else:
        out.print(
            f"{args.service}: parked row {result['id']} is back in the outbox as row {result['outbox_id']} "
            f"(topic {result['topic']})"
        )


def outbox_discard(args: argparse.Namespace, _coordinator: Api) -> None:
    """Delete one parked row for good: its message is never sent."""
    service_api(args.service).call("DELETE", f"/outbox/parked/{args.id}")
    if args.json:
        print_json({"service": args.service, "id": args.id, "discarded": True})
    else:
        out.print(f"{args.service}: parked row {args.id} discarded")


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    """Add ``outbox parked``, ``outbox retry`` and ``outbox discard`` to the parser's command groups."""
    outbox = groups.add_parser("outbox", help="outbox rows Kafka refused for good (parked)").add_subparsers(
        dest="command", required=True
    )
    listing = outbox.add_parser("parked", parents=[common], help="parked rows of every service, newest first")
    listing.add_argument("--service", choices=SERVICE_NAMES, help="only this service's")
    listing.add_argument("--limit", type=int, default=100, choices=range(1, 1001), metavar="N", help="per service")
    listing.set_defaults(run=outbox_parked, api="coordinator")
    for name, run, help_text in (
        ("retry", outbox_retry, "put a parked row back into its service's outbox (published again)"),
        ("discard", outbox_discard, "delete a parked row for good (never sent)"),
    ):
        command = outbox.add_parser(name, parents=[common], help=help_text)
        command.add_argument("service", choices=SERVICE_NAMES)
        command.add_argument("id", type=int, help="the parked row's id (see `retrovault outbox parked`)")
        command.set_defaults(run=run, api="coordinator")
