"""Launcher for the localstripe emulator, bound to 127.0.0.1 only.

localstripe's own CLI binds ``::`` (all interfaces, IPv4 and IPv6) and
persists its store to the fixed path ``/tmp/localstripe.pickle``.  This
launcher, run by the localstripe venv's python (see ``infra/localstripe.py``),
imports localstripe's aiohttp app and serves it on ``--host``/``--port`` with
the store persisted atomically to ``--store`` (or kept in memory only when
``--store`` is empty).

Usage: ``<venv>/bin/python infra/localstripe_server.py --port 8420 --store PATH``
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pickle
import sys
from pathlib import Path
from typing import Any


def _install_store_persistence(resources: Any, store_path: str) -> None:
    """Point localstripe's Store at ``store_path`` with atomic writes."""
    store_cls = resources.Store

    def try_load_from_disk(self: dict[str, Any]) -> None:
        if not store_path:
            return
        path = Path(store_path)
        try:
            with path.open("rb") as fh:
                old = pickle.load(fh)
        except FileNotFoundError:
            return
        except Exception as exc:  # corrupt or incompatible pickle: start empty
            bad = path.with_name(path.name + ".corrupt")
            os.replace(path, bad)
            logging.getLogger("localstripe").warning(
                "could not load %s (%s); moved to %s", path, exc, bad
            )
            return
        self.clear()
        self.update(old)

    def dump_to_disk(self: dict[str, Any]) -> None:
        if not store_path:
            return
        path = Path(store_path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)

    store_cls.try_load_from_disk = try_load_from_disk
    store_cls.dump_to_disk = dump_to_disk


def main(argv: list[str] | None = None) -> int:
    """Run localstripe on host:port until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="localstripe_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--store", default="", help="pickle path; empty = memory only")
    parser.add_argument("--from-scratch", action="store_true", help="ignore saved store")
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    resources = importlib.import_module("localstripe.resources")
    server = importlib.import_module("localstripe.server")
    web = importlib.import_module("aiohttp.web")

    if args.store:
        Path(args.store).parent.mkdir(parents=True, exist_ok=True)
    _install_store_persistence(resources, args.store)
    if args.from_scratch and args.store:
        Path(args.store).unlink(missing_ok=True)
    resources.store.try_load_from_disk()

    access_log = None if args.no_access_log else logging.getLogger("aiohttp.access")
    logging.getLogger("localstripe").info(
        "localstripe %s on http://%s:%d (store: %s)",
        importlib.import_module("importlib.metadata").version("localstripe"),
        args.host,
        args.port,
        args.store or "memory",
    )
    web.run_app(
        server.app,
        host=args.host,
        port=args.port,
        access_log=access_log,
        print=None,
        reuse_address=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
