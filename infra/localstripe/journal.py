"""localstripe's store made durable: a snapshot plus a journal of the requests that changed it since.

Runs inside the emulator's own virtualenv (see ``server``). Each request that changes the store is
appended to ``journal.jsonl`` (with the random seed and clock it ran with) before its response is sent,
so an acknowledged write survives SIGKILL. On start the snapshot is loaded and the journal replayed
deterministically through the app on a private ephemeral port, before the real port is bound. A new
snapshot is written at start, every ``snapshot_every`` journal entries, and on clean shutdown.
Background mutations (SEPA debit callbacks) are not journaled; webhooks are not re-sent during replay.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import os
import pickle
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any

LOG = logging.getLogger("localstripe")
SNAPSHOT_VERSION = 1
_REPLAY_SEED = "X-RV-Replay-Seed"
_REPLAY_TIME = "X-RV-Replay-Time"
_JOURNALED_HEADERS = ("Authorization", "Content-Type")


class Clock:
    """Stand-in for the ``time`` module inside localstripe.resources: frozen while a request runs."""

    def __init__(self) -> None:
        self.frozen: float | None = None

    def time(self) -> float:
        """The frozen time while a request runs, else the real one."""
        return time.time() if self.frozen is None else self.frozen


class Journal:
    """Snapshot + journal of localstripe's in-memory store (``store``), kept in ``directory``."""

    def __init__(self, store: dict[str, Any], directory: Path, snapshot_every: int) -> None:
        self.store = store
        self.snapshot_path = directory / "snapshot.pickle"
        self.journal_path = directory / "journal.jsonl"
        self.snapshot_every = snapshot_every
        self.seq = 0
        self.since_snapshot = 0
        self.replaying = False
        self.dirty = False  # set by the store's hooks (see patches) when the current request changed it
        self.clock = Clock()
        self._journal: IO[str] | None = None

    def load(self) -> list[dict[str, Any]]:
        """Load the snapshot into the store; return the journal entries newer than it."""
        self.snapshot_path.parent.mkdir(parents=True, exist_ok=True)
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
        self.close()
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

    def middleware(self, web: Any) -> Callable[..., Awaitable[Any]]:
        """aiohttp middleware that seeds, clocks and journals each request."""
        journal = self

        async def journal_middleware(request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
            replay = journal.replaying
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
            journal.clock.frozen = now
            journal.dirty = False
            status = 500
            try:
                response = await handler(request)
                status = int(response.status)
                return response
            except web.HTTPException as exc:
                status = int(exc.status)
                raise
            finally:
                journal.clock.frozen = None
                if not replay and (request.method != "GET" or journal.dirty):
                    journal.append(
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
                    headers = {**entry.get("h", {}), _REPLAY_SEED: str(entry["s"]), _REPLAY_TIME: repr(entry["t"])}
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
