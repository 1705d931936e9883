"""``retrovault``: the operators' command line — sagas, dead letters and orders, over the services' HTTP APIs.

Each command group is a module of its own (``cli_sagas`` with ``cli_replay``, ``cli_dlq``, ``cli_orders``,
``cli_outbox``) that registers its commands here; ``cli_http`` holds what they share.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from coordinator.entrypoints import cli_auth, cli_dlq, cli_orders, cli_outbox, cli_sagas
from coordinator.entrypoints.cli_http import Api, CliError
from coordinator.entrypoints.cli_settings import cli_settings
from plumbing.settings import service_url


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retrovault", description="Operate RetroVault: sagas, dead letters, orders, parked outbox rows."
    )
    parser.add_argument("--coordinator", default=cli_settings().url("coordinator"))
    parser.add_argument("--orders", default=cli_settings().url("orders"))
    parser.add_argument("--gateway", default=cli_settings().gateway_url, help="go through the gateway (`/api`)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    groups = parser.add_subparsers(dest="group", required=True)
    for group in (cli_sagas, cli_dlq, cli_orders, cli_outbox, cli_auth):
        group.register(groups, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``retrovault`` console script."""
    args = _parser().parse_args(argv)
    token = cli_settings().token
    secret = token.get_secret_value() if token else None
    via = f"{args.gateway.rstrip('/')}/api" if args.gateway else None
    apis = {
        "coordinator": Api("coordinator", via or args.coordinator, secret),
        "orders": Api("orders", via or args.orders, secret),
        "gateway": Api("gateway", args.gateway or service_url("gateway")),
    }
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
