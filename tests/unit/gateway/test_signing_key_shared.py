"""Gateway replicas that share one key file (Compose's volume) and start at once all end up with the same key."""

from __future__ import annotations

import multiprocessing
import stat
from multiprocessing.synchronize import Barrier
from pathlib import Path

from gateway.adapters.signing_key import signing_key

REPLICAS = 6


def _start(path: Path, barrier: Barrier, kids: multiprocessing.Queue[str]) -> None:
    barrier.wait(timeout=30)  # every replica finds no file, then all make one at the same moment
    kids.put(signing_key(path).kid)


def test_replicas_starting_at_once_share_one_key(tmp_path: Path) -> None:
    path = tmp_path / "gateway" / "signing-key.pem"
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(REPLICAS)
    kids: multiprocessing.Queue[str] = context.Queue()
    replicas = [context.Process(target=_start, args=(path, barrier, kids)) for _ in range(REPLICAS)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join(60)
    assert [replica.exitcode for replica in replicas] == [0] * REPLICAS
    assert {kids.get(timeout=5) for _ in replicas} == {signing_key(path).kid}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["signing-key.pem"], "a temporary key file was left"
