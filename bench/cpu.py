"""CPU use of processes and of the whole machine, from /proc.

A process's figure covers all its threads and, for a tree such as PostgreSQL's postmaster and its
backends, every live descendant plus the children that already exited (their time is rolled up into
the parent's ``cutime``/``cstime`` when it reaps them).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    # Fields after the command name (which may contain spaces): field 3 (state) is index 0.
    return text.rpartition(")")[2].split()


def own_ticks(pid: int, *, with_reaped_children: bool = True) -> int:
    """utime + stime (+ cutime + cstime) of ``pid`` in clock ticks; 0 if it is gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0
    used = int(fields[11]) + int(fields[12])
    return used + (int(fields[13]) + int(fields[14]) if with_reaped_children else 0)


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc/<pid>/task/*/children, else a scan of /proc)."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
        return found
    except OSError:
        pass
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def tree_ticks(pid: int) -> int:
    """CPU ticks of ``pid`` and all its descendants, including the reaped ones."""
    total, stack, seen = 0, [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        total += own_ticks(current)
        stack += children(current)
    return total


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return total - idle, total


@dataclass(frozen=True)
class CpuSnapshot:
    """Ticks per named process (tree) and of the machine, at one moment."""

    at: float
    processes: dict[str, int]
    machine_busy: int
    machine_total: int


SELF = "load-generator"


def snapshot(pids: Mapping[str, int | None]) -> CpuSnapshot:
    """Read every named process tree's CPU ticks now (a missing pid counts 0), and this process's own."""
    busy, total = machine_ticks()
    ticks = {name: tree_ticks(pid) if pid else 0 for name, pid in pids.items()}
    ticks[SELF] = own_ticks(os.getpid(), with_reaped_children=False)
    return CpuSnapshot(time.monotonic(), ticks, busy, total)


@dataclass(frozen=True)
class CpuUse:
    """Per process: percent of one core over the window (200 = both cores of a 2-core box)."""

    percent: dict[str, float]
    machine_busy_percent: float
    """All cores' busy time as a percent of one core, whoever used it."""
    others_percent: float
    """Busy time not accounted to any named process: other users of the machine, the kernel."""


def between(first: CpuSnapshot, second: CpuSnapshot) -> CpuUse:
    """CPU use between two snapshots."""
    seconds = max(second.at - first.at, 1e-6)
    percent = {
        name: round(100.0 * max(second.processes.get(name, 0) - ticks, 0) / TICKS_PER_S / seconds, 1)
        for name, ticks in first.processes.items()
    }
    cores = os.cpu_count() or 1
    total = max(second.machine_total - first.machine_total, 1)
    machine = 100.0 * cores * (second.machine_busy - first.machine_busy) / total
    return CpuUse(percent, round(machine, 1), round(max(machine - sum(percent.values()), 0.0), 1))
