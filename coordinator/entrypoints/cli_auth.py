"""``retrovault auth token`` (log in at the gateway and print the access token, for ``RV_TOKEN``), and
``retrovault login`` / ``logout`` (keep the token in the session file, so later commands go through the gateway)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

from coordinator.entrypoints import cli_login
from coordinator.entrypoints.cli_http import Api, CliError, print_json
from coordinator.entrypoints.cli_settings import cli_settings
from plumbing.demo_logins import demo_login


def _log_in(args: argparse.Namespace, gateway: Api) -> tuple[str, dict[str, Any]]:
    """The user name and the gateway's answer to ``--username`` (password from ``RV_PASSWORD``), else to the demo
    login of ``--role``."""
    if args.username:
        password = os.environ.get("RV_PASSWORD")
        if not password:
            raise CliError("--username needs its password in RV_PASSWORD")
        username = args.username
    else:
        login = demo_login(args.role)
        username, password = login.username, login.password
    answer: dict[str, Any] = gateway.call("POST", "/auth/token", json={"username": username, "password": password})
    return username, answer


def auth_token(args: argparse.Namespace, gateway: Api) -> None:
    """Print a token for the login (see ``_log_in``)."""
    _, answer = _log_in(args, gateway)
    if args.json:
        print_json(answer)
    else:
        sys.stdout.write(f"{answer['access_token']}\n")


def login(args: argparse.Namespace, gateway: Api) -> None:
    """Log in and keep the token in the session file: later commands go through this gateway with it."""
    username, answer = _log_in(args, gateway)
    session = cli_login.Session(
        gateway.base_url, username, answer["access_token"], time.time() + float(answer["expires_in"])
    )
    path = cli_settings().session_file()
    cli_login.save(path, session)
    if args.json:
        print_json({"gateway": session.gateway, "subject": username, "expires_at": session.expires_at})
    else:
        until = datetime.fromtimestamp(session.expires_at, UTC).strftime("%H:%M:%S UTC")
        sys.stdout.write(f"logged in at {session.gateway} as {username} until {until} (session in {path})\n")


def logout(args: argparse.Namespace, _gateway: Api) -> None:
    """Forget the session file's token."""
    forgotten = cli_login.forget(cli_settings().session_file())
    if args.json:
        print_json({"logged_out": forgotten})
    else:
        sys.stdout.write("logged out\n" if forgotten else "not logged in\n")


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
    session = groups.add_parser(
        "login", parents=[common], help="log in at the gateway; later commands go through it with the token"
    )
    session.add_argument("--role", choices=["customer", "operator"], default="operator", help="a demo login's role")
    session.add_argument("--username", help="log in as this user instead (password in RV_PASSWORD)")
    session.set_defaults(run=login, api="gateway")
    groups.add_parser("logout", parents=[common], help="forget the login's token").set_defaults(
        run=logout, api="gateway"
    )
