"""``retrovault orders``: place an order (and follow it), read one."""

from __future__ import annotations

import argparse
import time
from typing import Any

from coordinator.entrypoints.cli_http import Api, out, print_json


def _line(sku_qty: str) -> dict[str, Any]:
    sku, _, qty = sku_qty.partition(":")
    if not sku or (qty and not qty.isdigit()):
        raise argparse.ArgumentTypeError(f"expected SKU or SKU:QUANTITY, got {sku_qty!r}")
    return {"sku": sku, "quantity": int(qty or 1)}


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
        print_json(order)
    else:
        reason = f" ({order['reason']})" if order.get("reason") else ""
        out.print(f"order {order['order_id']}: {order['status']}{reason}")


def orders_show(args: argparse.Namespace, orders: Api) -> None:
    """One order."""
    order = orders.call("GET", f"/orders/{args.order_id}")
    if args.json:
        print_json(order)
    else:
        lines = ", ".join(f"{i['quantity']} x {i['sku']}" for i in order["items"])
        reason = f" ({order['reason']})" if order.get("reason") else ""
        out.print(f"order {order['order_id']}: {order['status']}{reason}; {lines}; {order['total_cents']} cents")


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    """Add ``orders place`` and ``orders show`` to the parser's command groups."""
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
