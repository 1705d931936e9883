"""Launcher for the localstripe Stripe emulator: 127.0.0.1 only, durable store.

Run by the localstripe venv's python (see ``infra/localstripe.py``)::

    <venv>/bin/python infra/localstripe_server.py --port 8420 --data-dir DIR

Why not localstripe's own CLI:

* it binds ``::`` (every interface, IPv4 and IPv6) with no host option;
* it pickles the *whole* store to the fixed path ``/tmp/localstripe.pickle``
  on every item assignment (several times per API call), so each request
  costs O(store size): ~0.3 s per payment after 1000 payments.

Persistence here (``--data-dir``; empty = memory only) is a snapshot plus a
request journal.  Each request that changes the store is appended to
``journal.jsonl`` (with the random seed and clock it ran with) before its
response is sent, so an acknowledged write survives SIGKILL.  On start the
snapshot is loaded and the journal replayed deterministically through the
app on a private ephemeral port, before the real port is bound.  A new
snapshot is written at start, every ``--snapshot-every`` journal entries, and
on clean shutdown.  Background mutations (SEPA debit callbacks) are not
journaled; webhooks are not re-sent during replay.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import importlib
import json
import logging
import os
import pickle
import random
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

LOG = logging.getLogger("localstripe")
SNAPSHOT_VERSION = 1
_REPLAY_SEED = "X-RV-Replay-Seed"
_REPLAY_TIME = "X-RV-Replay-Time"
_JOURNALED_HEADERS = ("Authorization", "Content-Type")


class _Clock:
    """Stand-in for the ``time`` module inside localstripe.resources."""

    def __init__(self) -> None:
        self.frozen: float | None = None

    def time(self) -> float:
        return time.time() if self.frozen is None else self.frozen


class Persistence:
    """Snapshot + journal of localstripe's in-memory store."""

    def __init__(self, resources: Any, directory: Path, snapshot_every: int) -> None:
        self.resources = resources
        self.store: dict[str, Any] = resources.store
        self.directory = directory
        self.snapshot_path = directory / "snapshot.pickle"
        self.journal_path = directory / "journal.jsonl"
        self.snapshot_every = snapshot_every
        self.seq = 0
        self.since_snapshot = 0
        self.replaying = False
        self.dirty = False
        self.clock = _Clock()
        self._journal: Any = None

    # -- store hooks -------------------------------------------------------

    def install_hooks(self) -> None:
        """Disable upstream pickling and track store mutations."""
        persistence = self
        store_cls = self.resources.Store

        def setitem(self: dict[str, Any], key: str, value: Any) -> None:
            dict.__setitem__(self, key, value)
            persistence.dirty = True

        def delitem(self: dict[str, Any], key: str) -> None:
            dict.__delitem__(self, key)
            persistence.dirty = True

        def clear(self: dict[str, Any]) -> None:
            dict.clear(self)
            persistence.dirty = True

        def noop(self: dict[str, Any]) -> None:
            return None

        store_cls.__setitem__ = setitem
        store_cls.__delitem__ = delitem
        store_cls.clear = clear
        store_cls.try_load_from_disk = noop
        store_cls.dump_to_disk = noop
        self.resources.time = self.clock
        real_schedule = self.resources.schedule_webhook

        def schedule_webhook(event: Any) -> None:
            if not persistence.replaying:
                real_schedule(event)

        self.resources.schedule_webhook = schedule_webhook

    # -- snapshot / journal ------------------------------------------------

    def load(self) -> list[dict[str, Any]]:
        """Load the snapshot; return journal entries newer than it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.snapshot_path.exists():
            try:
                with self.snapshot_path.open("rb") as fh:
                    snap = pickle.load(fh)
                if snap.get("version") != SNAPSHOT_VERSION:
                    raise ValueError(f"snapshot version {snap.get('version')!r}")
                dict.update(self.store, snap["store"])
                self.seq = int(snap["seq"])
            except Exception as exc:
                bad = self.snapshot_path.with_suffix(".corrupt")
                os.replace(self.snapshot_path, bad)
                LOG.warning("unreadable snapshot (%s) moved to %s; starting empty", exc, bad)
                dict.clear(self.store)
                self.seq = 0
        entries: list[dict[str, Any]] = []
        if self.journal_path.exists():
            with self.journal_path.open("rb") as fh:
                for raw in fh:
                    try:
                        entry = json.loads(raw)
                    except ValueError:
                        LOG.warning("skipping torn journal line")
                        continue
                    if int(entry["seq"]) > self.seq:
                        entries.append(entry)
        return entries

    def snapshot(self) -> None:
        """Atomically write the store and truncate the journal."""
        tmp = self.snapshot_path.with_name(f".{self.snapshot_path.name}.tmp")
        with tmp.open("wb") as fh:
            data = {"version": SNAPSHOT_VERSION, "seq": self.seq, "store": dict(self.store)}
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self.snapshot_path)
        if self._journal is not None:
            self._journal.close()
        # Entries <= seq are ignored on load, so a crash right here is harmless.
        self._journal = self.journal_path.open("w", encoding="utf-8")
        self.since_snapshot = 0

    def close(self) -> None:
        """Close the journal file."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def append(self, entry: dict[str, Any]) -> None:
        """Append one entry to the journal (flushed before the response)."""
        if self._journal is None:
            self._journal = self.journal_path.open("a", encoding="utf-8")
        self.seq += 1
        entry["seq"] = self.seq
        self._journal.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._journal.flush()
        self.since_snapshot += 1
        if self.since_snapshot >= self.snapshot_every or not self.store:
            self.snapshot()

    # -- middleware ----------------------------------------------------------

    def middleware(self, web: Any) -> Callable[..., Awaitable[Any]]:
        """aiohttp middleware that seeds, clocks and journals each request."""
        persistence = self

        async def journal_middleware(request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
            replay = persistence.replaying
            if replay:
                seed = int(request.headers[_REPLAY_SEED])
                now = float(request.headers[_REPLAY_TIME])
            else:
                seed = secrets.randbits(63)
                now = time.time()
            body: bytes = await request.read()
            # From here to the journal append there is no real suspension
            # point (the body is cached), so requests run one at a time.
            random.seed(seed)
            persistence.clock.frozen = now
            persistence.dirty = False
            status = 500
            try:
                response = await handler(request)
                status = int(response.status)
                return response
            except web.HTTPException as exc:
                status = int(exc.status)
                raise
            finally:
                persistence.clock.frozen = None
                if not replay and (request.method != "GET" or persistence.dirty):
                    persistence.append(
                        {
                            "m": request.method,
                            "p": request.path_qs,
                            "h": {k: request.headers[k] for k in _JOURNALED_HEADERS if k in request.headers},
                            "b": base64.b64encode(body).decode("ascii"),
                            "s": seed,
                            "t": now,
                            "st": status,
                        }
                    )

        # Equivalent of @web.middleware (marks a new-style middleware).
        setattr(journal_middleware, "__middleware_version__", 1)  # noqa: B010
        return journal_middleware

    async def replay(self, runner: Any, web: Any, entries: list[dict[str, Any]]) -> None:
        """Re-run journal entries through the app on a private ephemeral port."""
        if not entries:
            return
        aiohttp = importlib.import_module("aiohttp")
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[-1][1]
        mismatches = 0
        self.replaying = True
        try:
            async with aiohttp.ClientSession() as session:
                for entry in entries:
                    headers = dict(entry.get("h", {}))
                    headers[_REPLAY_SEED] = str(entry["s"])
                    headers[_REPLAY_TIME] = repr(entry["t"])
                    async with session.request(
                        entry["m"],
                        f"http://127.0.0.1:{port}{entry['p']}",
                        data=base64.b64decode(entry["b"]),
                        headers=headers,
                    ) as resp:
                        await resp.read()
                        if resp.status != entry.get("st", resp.status):
                            mismatches += 1
                    self.seq = max(self.seq, int(entry["seq"]))
        finally:
            self.replaying = False
            await site.stop()
        LOG.info("replayed %d journal entries (%d status mismatches)", len(entries), mismatches)


def install_type_index(resources: Any) -> Callable[[], None]:
    """Index the store by object type, so listing one type does not scan every object.

    localstripe lists by scanning the whole store (``StripeObject._api_list_all``), and exporting a Charge
    lists its refunds, so every confirm cost O(store size): after a few thousand payments the emulator was
    the busiest process of a benchmark run. Wraps whatever store hooks are installed; returns a function
    that rebuilds the index from the store (after a snapshot is loaded behind the hooks' back).
    """
    store_cls, store = resources.Store, resources.store
    index: dict[str, dict[str, None]] = {}
    set_item, del_item, clear = store_cls.__setitem__, store_cls.__delitem__, store_cls.clear

    def setitem(self: dict[str, Any], key: str, value: Any) -> None:
        set_item(self, key, value)
        index.setdefault(key.split(":", 1)[0], {})[key] = None

    def delitem(self: dict[str, Any], key: str) -> None:
        del_item(self, key)
        index.get(key.split(":", 1)[0], {}).pop(key, None)

    def clear_all(self: dict[str, Any]) -> None:
        clear(self)
        index.clear()

    def list_all(cls: Any, /, url: str, limit: Any = None, starting_after: Any = None, **kwargs: Any) -> Any:
        if kwargs:
            raise resources.UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
        listing = resources.List(url, limit=limit, starting_after=starting_after)
        listing._list = [store[key] for key in index.get(cls.object, {})]  # store order, as upstream
        return listing

    def rebuild() -> None:
        index.clear()
        for key in store:
            index.setdefault(key.split(":", 1)[0], {})[key] = None

    store_cls.__setitem__, store_cls.__delitem__, store_cls.clear = setitem, delitem, clear_all
    resources.StripeObject._api_list_all = classmethod(list_all)
    return rebuild


async def _serve(args: argparse.Namespace) -> None:
    resources = importlib.import_module("localstripe.resources")
    server = importlib.import_module("localstripe.server")
    web = importlib.import_module("aiohttp.web")
    app = server.app

    persistence: Persistence | None = None
    entries: list[dict[str, Any]] = []
    if args.data_dir:
        persistence = Persistence(resources, Path(args.data_dir), args.snapshot_every)
        persistence.install_hooks()
        app.middlewares.insert(0, persistence.middleware(web))
        entries = persistence.load()
    else:
        store_cls = resources.Store
        store_cls.try_load_from_disk = lambda self: None
        store_cls.dump_to_disk = lambda self: None
        store_cls.__setitem__ = dict.__setitem__
        store_cls.__delitem__ = dict.__delitem__
    install_type_index(resources)()

    access_log = None if args.no_access_log else logging.getLogger("aiohttp.access")
    runner = web.AppRunner(app, access_log=access_log, handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if persistence is not None:
            started = time.monotonic()
            await persistence.replay(runner, web, entries)
            persistence.snapshot()
            LOG.info(
                "store ready: %d objects, seq %d (%.2fs)",
                len(persistence.store),
                persistence.seq,
                time.monotonic() - started,
            )
        site = web.TCPSite(runner, args.host, args.port, reuse_address=True)
        await site.start()
        LOG.info(
            "localstripe %s listening on http://%s:%d (store: %s)",
            importlib.import_module("importlib.metadata").version("localstripe"),
            args.host,
            args.port,
            args.data_dir or "memory only",
        )
        await stop.wait()
        LOG.info("shutting down")
    finally:
        await runner.cleanup()
        if persistence is not None:
            with contextlib.suppress(OSError):
                persistence.snapshot()
            persistence.close()


def _unshadow() -> None:
    """Drop this file's directory from sys.path: ``infra/localstripe.py`` would
    otherwise shadow the ``localstripe`` package when run as a script."""
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]


def main(argv: list[str] | None = None) -> int:
    """Run localstripe on host:port until SIGINT/SIGTERM."""
    _unshadow()
    parser = argparse.ArgumentParser(prog="localstripe_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--data-dir", default="", help="persistence dir; empty = memory")
    parser.add_argument("--snapshot-every", type=int, default=500)
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
