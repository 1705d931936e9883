"""``retrovault dlq``: dead-lettered messages, and putting one back on its topic."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from coordinator.entrypoints.cli_http import Api, out, print_json


def dlq_list(args: argparse.Namespace, coordinator: Api) -> None:
    """Dead-lettered messages with their reasons."""
    letters = coordinator.call("GET", "/dead-letters", params={"limit": args.limit})
    if args.json:
        print_json(letters)
        return
    table = Table("id", "message id", "type", "from topic", "service", "reason")
    for d in letters:
        table.add_row(d["id"], d["message_id"] or "-", d["message_type"] or "-", d["topic"], d["service"], d["reason"])
    out.print(table)


def dlq_replay(args: argparse.Namespace, coordinator: Api) -> None:
    """Put one dead letter back on its topic."""
    result = coordinator.call("POST", f"/dead-letters/{args.message_id}/replay")
    if args.json:
        print_json(result)
    else:
        out.print(f"re-submitted dead letter {result['id']} to {result['topic']}")


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    """Add ``dlq list`` and ``dlq replay`` to the parser's command groups."""
    dlq = groups.add_parser("dlq", help="dead-lettered messages").add_subparsers(dest="command", required=True)
    dlq_ls = dlq.add_parser("list", parents=[common], help="the newest dead letters with their reasons")
    dlq_ls.add_argument("--limit", type=int, default=50, choices=range(1, 1001), metavar="N")
    dlq_ls.set_defaults(run=dlq_list, api="coordinator")
    dlq_again = dlq.add_parser("replay", parents=[common], help="re-submit one dead letter to its topic")
    dlq_again.add_argument("message_id", help="the dead letter's id (partition-offset) or its original message id")
    dlq_again.set_defaults(run=dlq_replay, api="coordinator")
