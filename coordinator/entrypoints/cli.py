"""``retrovault``: the operators' command line — sagas, dead letters and orders, over the services' HTTP APIs."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from plumbing.settings import env, service_url

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# Piped output (scripts, tests) is not cut to 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 240)


class CliError(Exception):
    """A one-line error for the user."""


def _duration(text: str) -> timedelta:
    match = _DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a duration like 30s, 5m, 2h or 1d, got {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _line(sku_qty: str) -> dict[str, Any]:
    sku, _, qty = sku_qty.partition(":")
    if not sku or (qty and not qty.isdigit()):
        raise argparse.ArgumentTypeError(f"expected SKU or SKU:QUANTITY, got {sku_qty!r}")
    return {"sku": sku, "quantity": int(qty or 1)}


class Api:
    """A thin HTTP client that turns every failure into one readable line."""

    def __init__(self, name: str, base_url: str) -> None:
        self.name = name
        self._client = httpx.Client(base_url=base_url, timeout=30.0)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a successful call; raises CliError otherwise."""
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise CliError(f"cannot reach {self.name} at {self._client.base_url}: {error}") from error
        if response.status_code >= 400:
            try:
                problem = response.json()
                detail = problem.get("detail") or problem.get("title") or response.text
            except ValueError:
                detail = response.text
            raise CliError(f"{self.name} answered {response.status_code}: {detail}")
        return response.json()


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def _sagas_table(items: list[dict[str, Any]]) -> Table:
    table = Table("saga", "order", "state", "step", "attempts", "stuck", "created", "reason")
    for s in items:
        table.add_row(
            s["saga_id"],
            s["order_id"],
            s["state"],
            s["current_step"] or "-",
            str(s["attempts"]),
            f"since {s['stuck_since']}" if s["stuck"] else "",
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
    items = coordinator.call("GET", "/sagas", params=params)["items"]
    if args.json:
        _print_json(items)
    else:
        out.print(_sagas_table(items))


def sagas_show(args: argparse.Namespace, coordinator: Api) -> None:
    """One saga with its timeline."""
    saga = coordinator.call("GET", f"/sagas/{args.saga_id}")
    if args.json:
        _print_json(saga)
        return
    out.print(_sagas_table([saga]))
    timeline = Table("at", "what", "step", "message", "attempt", "detail")
    for h in saga["history"]:
        timeline.add_row(
            h["at"], h["kind"], h["action"] or "", h["message_type"] or "", str(h["attempt"] or ""), h["detail"] or ""
        )
    out.print(timeline)


def _stuck_ids(coordinator: Api, older_than: timedelta | None) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    cutoff = datetime.now(UTC) - older_than if older_than else None
    while True:
        params: dict[str, Any] = {"stuck": "true", "limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = coordinator.call("GET", "/sagas", params=params)
        for s in page["items"]:
            if cutoff is None or datetime.fromisoformat(s["stuck_since"]) <= cutoff:
                ids.append(s["saga_id"])
        cursor = page["next_cursor"]
        if not cursor:
            return ids


def sagas_replay(args: argparse.Namespace, coordinator: Api) -> None:
    """Re-send each saga's pending command (same message id and idempotency key)."""
    if bool(args.saga_id) == bool(args.stuck):
        raise CliError("give either a SAGA_ID or --stuck")
    if args.older_than and not args.stuck:
        raise CliError("--older-than goes with --stuck")
    ids = [args.saga_id] if args.saga_id else _stuck_ids(coordinator, args.older_than)
    params = {"dry_run": "true"} if args.dry_run else {}
    results: list[dict[str, Any]] = []
    with Progress(console=Console(stderr=True), transient=True, disable=len(ids) < 2) as progress:
        task = progress.add_task("replaying", total=len(ids))
        for saga_id in ids:
            results.append(coordinator.call("POST", f"/sagas/{saga_id}/replay", params=params))
            progress.advance(task)
    if args.json:
        _print_json(results)
        return
    verb = "would send" if args.dry_run else "sent"
    for r in results:
        out.print(
            f"{r['saga_id']}: {verb} {r['command']} ({r['action']}, message {r['message_id']}, attempt {r['attempt']})"
        )
    if not results:
        out.print("no stuck sagas")


def sagas_summary(args: argparse.Namespace, coordinator: Api) -> None:
    """Counts per state and step, stuck, and recent durations."""
    summary = coordinator.call("GET", "/sagas/summary")
    if args.json:
        _print_json(summary)
        return
    table = Table("state", "sagas")
    for state, count in sorted(summary["by_state"].items()):
        table.add_row(state, str(count))
    out.print(table)
    d = summary["durations"]
    out.print(f"stuck: {summary['stuck']}; completed in the last {d['window_minutes']} min: {d['completed']}, "
              f"p50 {d['p50_ms']} ms, p95 {d['p95_ms']} ms, p99 {d['p99_ms']} ms")  # fmt: skip


def dlq_list(args: argparse.Namespace, coordinator: Api) -> None:
    """Dead-lettered messages with their reasons."""
    letters = coordinator.call("GET", "/dead-letters", params={"limit": args.limit})
    if args.json:
        _print_json(letters)
        return
    table = Table("id", "message id", "type", "from topic", "service", "reason")
    for d in letters:
        table.add_row(d["id"], d["message_id"] or "-", d["message_type"] or "-", d["topic"], d["service"], d["reason"])
    out.print(table)


def dlq_replay(args: argparse.Namespace, coordinator: Api) -> None:
    """Put one dead letter back on its topic."""
    result = coordinator.call("POST", f"/dead-letters/{args.message_id}/replay")
    if args.json:
        _print_json(result)
    else:
        out.print(f"re-submitted dead letter {result['id']} to {result['topic']}")


def orders_place(args: argparse.Namespace, orders: Api) -> None:
    """Place an order and, with --wait, follow it until it is decided."""
    body = {"customer_id": args.customer, "items": args.items, "payment_method": args.payment_method}
    accepted = orders.call("POST", "/orders", json=body)
    order = accepted
    if args.wait:
        deadline = time.monotonic() + args.timeout
        while order["status"] == "PENDING" and time.monotonic() < deadline:
            time.sleep(0.1)  # polling interval, bounded by the deadline
            order = orders.call("GET", f"/orders/{accepted['order_id']}")
    if args.json:
        _print_json(order)
    else:
        reason = f" ({order['reason']})" if order.get("reason") else ""
        out.print(f"order {order['order_id']}: {order['status']}{reason}")


def orders_show(args: argparse.Namespace, orders: Api) -> None:
    """One order."""
    order = orders.call("GET", f"/orders/{args.order_id}")
    if args.json:
        _print_json(order)
    else:
        lines = ", ".join(f"{i['quantity']} x {i['sku']}" for i in order["items"])
        reason = f" ({order['reason']})" if order.get("reason") else ""
        out.print(f"order {order['order_id']}: {order['status']}{reason}; {lines}; {order['total_cents']} cents")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="retrovault", description="Operate RetroVault: sagas, dead letters, orders.")
    parser.add_argument("--coordinator", default=env("RV_COORDINATOR_URL", service_url("coordinator")))
    parser.add_argument("--orders", default=env("RV_ORDERS_URL", service_url("orders")))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    groups = parser.add_subparsers(dest="group", required=True)

    sagas = groups.add_parser("sagas", help="list, inspect and replay sagas").add_subparsers(
        dest="command", required=True
    )
    listing = sagas.add_parser("list", parents=[common], help="sagas, newest first")
    listing.add_argument("--state", choices=["RUNNING", "COMPENSATING", "COMPLETED", "COMPENSATED", "FAILED"])
    listing.add_argument("--step", help="current step, e.g. charge_payment")
    listing.add_argument("--stuck", action="store_true", help="only sagas past the deadline of their step")
    listing.add_argument("--limit", type=int, default=20, choices=range(1, 501), metavar="N")
    listing.set_defaults(run=sagas_list, api="coordinator")
    show = sagas.add_parser("show", parents=[common], help="one saga and its timeline")
    show.add_argument("saga_id")
    show.set_defaults(run=sagas_show, api="coordinator")
    again = sagas.add_parser(
        "replay", parents=[common], help="re-send the pending command of a saga, or of every stuck saga"
    )
    again.add_argument("saga_id", nargs="?")
    again.add_argument("--stuck", action="store_true", help="every stuck saga")
    again.add_argument("--older-than", type=_duration, help="with --stuck: stuck for at least this long (5m, 1h)")
    again.add_argument("--dry-run", action="store_true", help="show what would be sent, send nothing")
    again.set_defaults(run=sagas_replay, api="coordinator")
    summary = sagas.add_parser("summary", parents=[common], help="counts per state, stuck sagas, recent durations")
    summary.set_defaults(run=sagas_summary, api="coordinator")

    dlq = groups.add_parser("dlq", help="dead-lettered messages").add_subparsers(dest="command", required=True)
    dlq_ls = dlq.add_parser("list", parents=[common], help="the newest dead letters with their reasons")
    dlq_ls.add_argument("--limit", type=int, default=50, choices=range(1, 1001), metavar="N")
    dlq_ls.set_defaults(run=dlq_list, api="coordinator")
    dlq_again = dlq.add_parser("replay", parents=[common], help="re-submit one dead letter to its topic")
    dlq_again.add_argument("message_id", help="the dead letter's id (partition-offset) or its original message id")
    dlq_again.set_defaults(run=dlq_replay, api="coordinator")

    orders = groups.add_parser("orders", help="place and read orders").add_subparsers(dest="command", required=True)
    place = orders.add_parser("place", parents=[common], help="place an order")
    place.add_argument("items", nargs="+", type=_line, metavar="SKU[:QTY]")
    place.add_argument("--customer", default="cli")
    place.add_argument("--payment-method", default="pm_card_visa")
    place.add_argument("--wait", action="store_true", help="follow the order until it is APPROVED or REJECTED")
    place.add_argument("--timeout", type=float, default=60.0)
    place.set_defaults(run=orders_place, api="orders")
    order = orders.add_parser("show", parents=[common], help="one order")
    order.add_argument("order_id")
    order.set_defaults(run=orders_show, api="orders")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``retrovault`` console script."""
    args = _parser().parse_args(argv)
    apis = {"coordinator": Api("coordinator", args.coordinator), "orders": Api("orders", args.orders)}
    run: Callable[[argparse.Namespace, Api], None] = args.run
    try:
        run(args, apis[args.api])
    except CliError as error:
        _fail(str(error))
    return 0


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"retrovault: error: {message.splitlines()[0] if message else 'failed'}\n")
    raise SystemExit(1)


if __name__ == "__main__":
    sys.exit(main())
