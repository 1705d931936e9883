"""``retrovault auth token``: log in at the gateway and print the access token (for ``RV_TOKEN``)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from coordinator.entrypoints.cli_http import Api, CliError, print_json
from plumbing.demo_logins import demo_login


def auth_token(args: argparse.Namespace, gateway: Api) -> None:
    """Print a token for ``--username`` (password from ``RV_PASSWORD``), else for the demo login of ``--role``."""
    if args.username:
        password = os.environ.get("RV_PASSWORD")
        if not password:
            raise CliError("--username needs its password in RV_PASSWORD")
        username = args.username
    else:
        login = demo_login(args.role)
        username, password = login.username, login.password
    answer = gateway.call("POST", "/auth/token", json={"username": username, "password": password})
    if args.json:
        print_json(answer)
    else:
        sys.stdout.write(f"{answer['access_token']}\n")


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    """Add ``auth token`` to the parser's command groups."""
    auth = groups.add_parser("auth", help="access tokens").add_subparsers(dest="command", required=True)
    token = auth.add_parser(
        "token",
        parents=[common],
        help="log in at the gateway and print a token: export RV_TOKEN=$(retrovault auth token --role operator)",
    )
    token.add_argument("--role", choices=["customer", "operator"], default="operator", help="a demo login's role")
    token.add_argument("--username", help="log in as this user instead (password in RV_PASSWORD)")
    token.set_defaults(run=auth_token, api="gateway")
