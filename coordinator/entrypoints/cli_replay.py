"""``retrovault sagas replay``: re-send the pending command of one saga, or of every stuck, waiting or FAILED one."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import Progress

from coordinator.entrypoints.cli_http import Api, CliError, out, print_json

SELECTIONS = {
    "stuck": ({"stuck": "true"}, "stuck_since"),
    "waiting": ({"waiting": "true"}, "waiting_since"),
    "failed": ({"state": "FAILED"}, "finished_at"),
}
"""selection flag -> the ``GET /sagas`` filter that finds its sagas, and since when each is in it"""


def _selected(coordinator: Api, selection: str, older_than: timedelta | None) -> list[str]:
    """The ids of every saga in ``selection`` (all pages), in it for at least ``older_than`` when given."""
    where, since = SELECTIONS[selection]
    cutoff = datetime.now(UTC) - older_than if older_than else None
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {**where, "limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = coordinator.call("GET", "/sagas", params=params)
        for s in page["items"]:
            if cutoff is None or datetime.fromisoformat(s[since]) <= cutoff:
                ids.append(s["saga_id"])
        cursor = page["next_cursor"]
        if not cursor:
            return ids


def sagas_replay(args: argparse.Namespace, coordinator: Api) -> None:
    """Re-send each saga's pending command (same message id and idempotency key); a FAILED one resumes."""
    chosen = [name for name in SELECTIONS if getattr(args, name)]
    if bool(args.saga_id) + len(chosen) != 1:
        raise CliError("give either a SAGA_ID or --stuck, --waiting or --failed (one of them)")
    if args.older_than and not chosen:
        raise CliError("--older-than goes with --stuck, --waiting or --failed")
    ids = [args.saga_id] if args.saga_id else _selected(coordinator, chosen[0], args.older_than)
    params = {"dry_run": "true"} if args.dry_run else {}
    results: list[dict[str, Any]] = []
    with Progress(console=Console(stderr=True), transient=True, disable=len(ids) < 2) as progress:
        task = progress.add_task("replaying", total=len(ids))
        for saga_id in ids:
            results.append(coordinator.call("POST", f"/sagas/{saga_id}/replay", params=params))
            progress.advance(task)
    if args.json:
        print_json(results)
        return
    verb = "would send" if args.dry_run else "sent"
    for r in results:
        out.print(
            f"{r['saga_id']}: {verb} {r['command']} ({r['action']}, message {r['message_id']}, attempt {r['attempt']})"
        )
    if not results:
        out.print(f"no {chosen[0]} sagas")
