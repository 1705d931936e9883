"""Runs the localstripe Stripe emulator on one address, with a durable store; runs in the emulator's venv.

Started by ``launcher`` as ``<venv>/bin/python -P -m infra.localstripe.server --port 8420 --data-dir DIR``.
Not localstripe's own CLI, because that binds ``::`` (every interface, IPv4 and IPv6) with no host option
and pickles its whole store on every write (see ``patches``). ``--data-dir`` empty keeps the store in
memory only; otherwise ``journal`` makes it durable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import signal
import sys
import time
from pathlib import Path

from infra.localstripe import patches
from infra.localstripe.journal import LOG, Journal


async def _serve(args: argparse.Namespace) -> None:
    resources = importlib.import_module("localstripe.resources")
    app = importlib.import_module("localstripe.server").app
    web = importlib.import_module("aiohttp.web")
    journal = Journal(resources.store, Path(args.data_dir), args.snapshot_every) if args.data_dir else None
    entries = journal.load() if journal is not None else []
    patches.apply(resources, app, web, journal)

    access_log = None if args.no_access_log else logging.getLogger("aiohttp.access")
    runner = web.AppRunner(app, access_log=access_log, handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if journal is not None:
            started = time.monotonic()
            await journal.replay(runner, web, entries)
            journal.snapshot()
            elapsed = time.monotonic() - started
            LOG.info("store ready: %d objects, seq %d (%.2fs)", len(journal.store), journal.seq, elapsed)
        site = web.TCPSite(runner, args.host, args.port, reuse_address=True)
        await site.start()
        version = importlib.import_module("importlib.metadata").version("localstripe")
        store = args.data_dir or "memory only"
        LOG.info("localstripe %s listening on http://%s:%d (store: %s)", version, args.host, args.port, store)
        await stop.wait()
        LOG.info("shutting down")
    finally:
        await runner.cleanup()
        if journal is not None:
            with contextlib.suppress(OSError):
                journal.snapshot()
            journal.close()


def main(argv: list[str] | None = None) -> int:
    """Serve localstripe on host:port until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m infra.localstripe.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--data-dir", default="", help="persistence dir; empty = memory")
    parser.add_argument("--snapshot-every", type=int, default=500)
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
