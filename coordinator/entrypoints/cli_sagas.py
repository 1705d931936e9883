"""``retrovault sagas``: list, inspect and summarise sagas (replays are in ``cli_replay``)."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from rich.table import Table

from coordinator.entrypoints.cli_http import Api, duration, out, print_json
from coordinator.entrypoints.cli_replay import sagas_replay
from coordinator.entrypoints.dashboard_format import waiting_phrase

STATES = ["RUNNING", "COMPENSATING", "COMPLETED", "COMPENSATED", "FAILED"]


def waits(saga: dict[str, Any]) -> str:
    """``waiting on payment since 12:01:07, 14 re-sends``, or nothing when the saga does not wait."""
    if not saga.get("waiting") or not saga.get("waiting_since"):
        return ""
    return waiting_phrase(saga["waiting_on"], datetime.fromisoformat(saga["waiting_since"]), saga["resends"])


def _sagas_table(items: list[dict[str, Any]]) -> Table:
    table = Table("saga", "order", "state", "step", "attempts", "stuck", "waiting", "created", "reason")
    for s in items:
        table.add_row(
            s["saga_id"],
            s["order_id"],
            s["state"],
            s["current_step"] or "-",
            str(s["attempts"]),
            f"since {s['stuck_since']}" if s["stuck"] else "",
            waits(s),
            s["created_at"],
            s["stuck_reason"] or s["failure_reason"] or "",
        )
    return table


def sagas_list(args: argparse.Namespace, coordinator: Api) -> None:
    """List sagas, newest first."""
    params: dict[str, Any] = {"limit": args.limit}
    if args.state:
        params["state"] = args.state
    if args.step:
        params["step"] = args.step
    if args.stuck:
        params["stuck"] = "true"
    if args.waiting:
        params["waiting"] = "true"
    items = coordinator.call("GET", "/sagas", params=params)["items"]
    if args.json:
        print_json(items)
    else:
        out.print(_sagas_table(items))


def sagas_show(args: argparse.Namespace, coordinator: Api) -> None:
    """One saga with its timeline, each entry naming the coordinator instance that applied it, for a reply the
    participant instance that executed its command, and for an operator's step who asked for it (``by``)."""
    saga = coordinator.call("GET", f"/sagas/{args.saga_id}")
    if args.json:
        print_json(saga)
        return
    out.print(_sagas_table([saga]))
    if saga.get("waiting"):
        until = (
            f"rolls back at {saga['gives_up_at']} without a reply" if saga["gives_up_at"] else "re-sent until answered"
        )
        out.print(f"{waits(saga)} ({saga['current_step']}; {until})")
    timeline = Table("at", "what", "step", "message", "attempt", "coordinator", "participant", "by", "detail")
    for h in saga["history"]:
        timeline.add_row(
            *(h["at"], h["kind"], h["action"] or "", h["message_type"] or "", str(h["attempt"] or "")),
            *(h.get("instance") or "", h.get("participant_instance") or "", h.get("actor") or ""),
            h["detail"] or "",
        )
    out.print(timeline)


def sagas_summary(args: argparse.Namespace, coordinator: Api) -> None:
    """Counts per state and step, waiting and stuck, and recent durations."""
    summary = coordinator.call("GET", "/sagas/summary")
    if args.json:
        print_json(summary)
        return
    table = Table("state", "sagas")
    for state, count in sorted(summary["by_state"].items()):
        table.add_row(state, str(count))
    out.print(table)
    d = summary["durations"]
    out.print(f"waiting: {summary['waiting']}; stuck: {summary['stuck']}; completed in the last "
              f"{d['window_minutes']} min: {d['completed']}, p50 {d['p50_ms']} ms, p95 {d['p95_ms']} ms, "
              f"p99 {d['p99_ms']} ms")  # fmt: skip


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    """Add ``sagas list|show|replay|summary`` to the parser's command groups."""
    sagas = groups.add_parser("sagas", help="list, inspect and replay sagas").add_subparsers(
        dest="command", required=True
    )
    listing = sagas.add_parser("list", parents=[common], help="sagas, newest first")
    listing.add_argument("--state", choices=STATES)
    listing.add_argument("--step", help="current step, e.g. charge_payment")
    listing.add_argument("--stuck", action="store_true", help="only sagas waiting with no time limit to end it")
    listing.add_argument("--waiting", action="store_true", help="only sagas whose step was re-sent, no reply yet")
    listing.add_argument("--limit", type=int, default=20, choices=range(1, 501), metavar="N")
    listing.set_defaults(run=sagas_list, api="coordinator")
    show = sagas.add_parser("show", parents=[common], help="one saga and its timeline")
    show.add_argument("saga_id")
    show.set_defaults(run=sagas_show, api="coordinator")
    again = sagas.add_parser(
        "replay",
        parents=[common],
        help="re-send the pending command of a saga, or of every stuck, waiting or FAILED one",
    )
    again.add_argument("saga_id", nargs="?")
    again.add_argument("--stuck", action="store_true", help="every stuck saga")
    again.add_argument("--waiting", action="store_true", help="every waiting saga (e.g. once its participant is back)")
    again.add_argument("--failed", action="store_true", help="every FAILED saga: each resumes where it failed")
    again.add_argument("--older-than", type=duration, help="with a selection: in that state for at least this long")
    again.add_argument("--dry-run", action="store_true", help="show what would be sent, send nothing")
    again.set_defaults(run=sagas_replay, api="coordinator")
    summary = sagas.add_parser("summary", parents=[common], help="counts per state, waiting and stuck, durations")
    summary.set_defaults(run=sagas_summary, api="coordinator")
