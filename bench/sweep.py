"""Sweeps over offered rates, and the cost of a saga in database commits over a measured span.

A sweep climbs the planned rates and stops at the first one that is not sustainable (backlog growing,
p99 at or over 1 s, or requests refused); then it bisects twice between the last good rate and the lowest
failing one. The maximum sustainable rate is the highest offered rate that passed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bench import stack
from bench.load import Mix
from bench.measure import StepResult, Target, finished_since, run_step, settle

STATS_FLUSH_S = 11.0
"""PostgreSQL 15 flushes an idle backend's pending statistics at most 10 s late."""


@dataclass(frozen=True)
class Plan:
    """How long and at which rates to run each kind of step."""

    rates: tuple[float, ...]
    warmup_s: float
    duration_s: float
    drain_s: float
    single_rate: float
    single_s: float
    confirm_s: float
    """The long run at the maximum sustainable rate (0: none)."""
    refine: bool = True
    settle_s: float = 30.0


REFINE_STEPS = 2
"""Steps of bisection between the highest passing rate and the lowest failing one above it."""


def sweep(target: Target, mode: str, mix: Mix, plan: Plan, *, since: float) -> list[StepResult]:
    """Climb ``plan.rates`` until one fails, then bisect (``REFINE_STEPS`` steps) between the last good rate
    and the lowest failing one above it."""
    results: list[StepResult] = []
    for rate in plan.rates:
        results.append(_step(target, mode, rate, mix, plan, plan.duration_s, since))
        if not results[-1].sustainable:
            break
    if not plan.refine or not results or results[-1].sustainable:
        return results
    for _ in range(REFINE_STEPS):
        good = max_sustainable(results)
        low = good.offered_per_s if good else 0.0
        high = min(r.offered_per_s for r in results if not r.sustainable and r.offered_per_s > low)
        middle = round((low + high) / 2.0)
        if not low < middle < high:
            break
        results.append(_step(target, mode, middle, mix, plan, plan.duration_s, since))
    return results


def _step(target: Target, mode: str, rate: float, mix: Mix, plan: Plan, duration_s: float, since: float) -> StepResult:
    result = run_step(target, mode, rate, mix, warmup_s=plan.warmup_s, duration_s=duration_s, drain_s=plan.drain_s)
    settle(target, since, plan.settle_s)
    return result


def single(target: Target, mix: Mix, plan: Plan, since: float) -> StepResult:
    """Orders one at a time (a low rate, so they hardly overlap): the latency of a single order."""
    return _step(target, "single", plan.single_rate, mix, plan, plan.single_s, since)


def at_rate(
    target: Target, mode: str, rate: float, duration_s: float, mix: Mix, plan: Plan, since: float
) -> StepResult:
    """One step at ``rate`` for ``duration_s``."""
    return _step(target, mode, rate, mix, plan, duration_s, since)


def max_sustainable(results: list[StepResult]) -> StepResult | None:
    """The sustainable step with the highest offered rate, if any."""
    good = [r for r in results if r.sustainable]
    return max(good, key=lambda r: r.offered_per_s) if good else None


class CommitMeter:
    """Database commits (and WAL) per terminal saga over a span of steps.

    Opened before the first step and closed after the last, waiting for the statistics to be flushed;
    the ``idle_commits_per_s`` of the quiet system (relay polls, the deadline sweep) are subtracted for
    the time the system was not under load.
    """

    def __init__(self, target: Target, idle_commits_per_s: float = 0.0) -> None:
        self.target = target
        self.idle_commits_per_s = idle_commits_per_s
        self.started = time.time()
        self.before = stack.database_counters(target.databases)

    def close(self, loaded_s: float) -> dict[str, Any]:
        """Wait for statistics, then the per-saga figures (``loaded_s``: seconds of offered load in the span)."""
        time.sleep(STATS_FLUSH_S)
        after = stack.database_counters(self.target.databases)
        span = time.time() - self.started
        sagas = finished_since(self.target, self.started)
        delta = stack.counter_delta(self.before, after)
        commits = sum(delta["commits"].values())
        idle = self.idle_commits_per_s * max(span - loaded_s, 0.0)
        per = max(sagas, 1)
        out: dict[str, Any] = {
            "sagas": sagas,
            "span_s": round(span, 1),
            "commits": commits,
            "idle_commits_subtracted": round(idle),
            "commits_per_saga": round((commits - idle) / per, 2),
            "gross_commits_per_saga": round(commits / per, 2),
            "commits_per_saga_by_database": {k: round(v / per, 2) for k, v in delta["commits"].items()},
            "rollbacks_per_saga": round(sum(delta["rollbacks"].values()) / per, 2),
        }
        if "xids" in delta:
            out["write_transactions_per_saga_server"] = round(delta["xids"]["server"] / per, 2)
        if "wal" in delta:
            out["wal_bytes_per_saga_server"] = round(delta["wal"]["bytes"] / per)
            out["wal_syncs_per_saga_server"] = round(delta["wal"]["syncs"] / per, 2)
        return out


def idle_commit_rate(target: Target, seconds: float) -> float:
    """Commits per second of the quiet system, measured after letting the statistics catch up."""
    print(f"==> idle commit rate of {target.name}: {STATS_FLUSH_S + seconds:g}s", flush=True)
    time.sleep(STATS_FLUSH_S)
    first = stack.database_counters(target.databases)
    time.sleep(seconds)
    second = stack.database_counters(target.databases)
    rate = float(sum(stack.counter_delta(first, second)["commits"].values())) / seconds
    print(f"    {rate:.1f} commits/s while idle", flush=True)
    return rate
