"""``retrovault dlq``: dead-lettered messages, and putting one back on its topic or discarding it."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from coordinator.entrypoints.cli_http import Api, out, print_json


def _disposition(letter: dict[str, Any]) -> str:
    d = letter.get("disposition")
    if not d:
        return "-"
    times = f" ({d['replays']} times)" if d["disposition"] == "replayed" and d["replays"] > 1 else ""
    return f"{d['disposition']}{times} by {d['actor']} at {d['at']}"


def dlq_list(args: argparse.Namespace, coordinator: Api) -> None:
    """Dead-lettered messages with their reasons and what operators did with them."""
    letters = coordinator.call("GET", "/dead-letters", params={"limit": args.limit})
    if args.json:
        print_json(letters)
        return
    table = Table("id", "message id", "type", "from topic", "service", "reason", "done")
    for d in letters:
        ids = (d["id"], d["message_id"] or "-", d["message_type"] or "-")
        table.add_row(*ids, d["topic"], d["service"], d["reason"], _disposition(d))
    out.print(table)


def dlq_act(args: argparse.Namespace, coordinator: Api) -> None:
    """Put one dead letter back on its topic (``--again``, ``--force``: see ``coordinator.letters``), or discard it."""
    params = {flag: "true" for flag in ("again", "force") if getattr(args, flag, False)}
    result = coordinator.call("POST", f"/dead-letters/{args.message_id}/{args.command}", params=params)
    if args.json:
        print_json(result)
    elif args.command == "replay":
        out.print(f"re-submitted dead letter {result['id']} to {result['topic']} (replay {result['replays']})")
    else:
        out.print(f"discarded dead letter {result['id']}")


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    """Add ``dlq list``, ``dlq replay`` and ``dlq discard`` to the parser's command groups."""
    dlq = groups.add_parser("dlq", help="dead-lettered messages").add_subparsers(dest="command", required=True)
    dlq_ls = dlq.add_parser("list", parents=[common], help="the newest dead letters with their reasons")
    dlq_ls.add_argument("--limit", type=int, default=50, choices=range(1, 1001), metavar="N")
    dlq_ls.set_defaults(run=dlq_list, api="coordinator")
    ident = "the dead letter's id (partition-offset) or its original message id"
    dlq_again = dlq.add_parser("replay", parents=[common], help="re-submit one dead letter to its topic")
    dlq_again.add_argument("message_id", help=ident)
    dlq_again.add_argument("--again", action="store_true", help="replay a letter that was replayed before")
    dlq_again.add_argument("--force", action="store_true", help="replay a letter whose saga is no longer running")
    dlq_again.set_defaults(run=dlq_act, api="coordinator")
    dlq_drop = dlq.add_parser("discard", parents=[common], help="mark one dead letter discarded: never re-sent")
    dlq_drop.add_argument("message_id", help=ident)
    dlq_drop.set_defaults(run=dlq_act, api="coordinator")
