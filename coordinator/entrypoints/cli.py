"""``retrovault``: the operators' command line — sagas, dead letters and orders, over the services' HTTP APIs.

Each command group is a module of its own (``cli_sagas`` with ``cli_replay``, ``cli_dlq``, ``cli_orders``,
``cli_outbox``) that registers its commands here; ``cli_http`` holds what they share.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from coordinator.entrypoints import cli_auth, cli_dlq, cli_login, cli_orders, cli_outbox, cli_sagas
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
    run: Callable[[argparse.Namespace, Api], None] = args.run
    try:
        run(args, _apis(args)[args.api])
    except CliError as error:
        _fail(str(error))
    return 0


def _apis(args: argparse.Namespace) -> dict[str, Api]:
    """The APIs the commands call: through the gateway with ``RV_TOKEN`` when one is named, else through the
    gateway of ``retrovault login`` with its token, else straight to the services (the local stack's)."""
    settings = cli_settings()
    token = settings.token.get_secret_value() if settings.token else None
    gateway = args.gateway
    if token is None and args.api != "gateway" and (session := cli_login.current(settings.session_file())):
        token, gateway = session.token, gateway or session.gateway
    via = f"{gateway.rstrip('/')}/api" if gateway else None
    return {
        "coordinator": Api("coordinator", via or args.coordinator, token),
        "orders": Api("orders", via or args.orders, token),
        "gateway": Api("gateway", args.gateway or service_url("gateway")),
    }


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"retrovault: error: {message.splitlines()[0] if message else 'failed'}\n")
    raise SystemExit(1)


if __name__ == "__main__":
    sys.exit(main())
