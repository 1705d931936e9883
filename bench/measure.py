"""One measured step: offer a rate, then read from the database when each saga reached its terminal state.

Completed sagas are counted where the system records them (a ``finished_at`` column: the coordinator's
``sagas`` table, or the DBOS peer's ``peer_sagas``), never from requests sent. Latency runs from the time
an order request was due to its saga's ``finished_at``; a saga not terminal by the end counts as infinitely
slow. The backlog (orders accepted, sagas not yet terminal) is rebuilt second by second afterwards.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from bench import cpu
from bench.load import Caller, LoadResult, Mix, Sent, run_open_loop

TERMINAL_STATES = ("COMPLETED", "COMPENSATED", "FAILED")
P99_LIMIT_MS = 1000.0
_P99_ALLOWANCE_MS: dict[str, float] = {}
"""Extra p99 a mode is allowed on top of ``P99_LIMIT_MS``: the waits its gateway imposes by design."""


def allow_p99(modes: tuple[str, ...], extra_ms: float) -> None:
    """Let steps in ``modes`` pass with a p99 up to ``P99_LIMIT_MS + extra_ms`` (e.g. two Stripe calls of the
    latency gateway per saga: no system can answer sooner)."""
    _P99_ALLOWANCE_MS.update(dict.fromkeys(modes, extra_ms))


@dataclass(frozen=True)
class Target:
    """A system to drive: where orders go, where terminal sagas are recorded, which processes to watch."""

    name: str
    orders_url: str
    terminal_dsn: str
    terminal_table: str
    pids: Callable[[], dict[str, int | None]]
    prepare: Callable[[], None]
    databases: tuple[str, ...]
    orders_path: str = "/orders"
    callers: tuple[Caller, ...] = ()
    """Who places the orders (through the gateway, each with their token); empty: ``customer_id`` "bench", no token."""


@dataclass
class StepResult:
    """What one offered rate gave."""

    target: str
    mode: str
    offered_per_s: float
    duration_s: float
    sent: int = 0
    accepted: int = 0
    http_errors: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    """Requests not accepted, by HTTP status (0: no answer, -1: the generator's in-flight limit)."""
    completed_per_s: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    latency_ms: dict[str, float | None] = field(default_factory=dict)
    latency_by_kind_ms: dict[str, dict[str, float | None]] = field(default_factory=dict)
    http_ms: dict[str, float | None] = field(default_factory=dict)
    unfinished: int = 0
    backlog_end: int = 0
    backlog_slope_per_s: float = 0.0
    generator_max_lag_ms: float = 0.0
    cpu_percent: dict[str, float] = field(default_factory=dict)
    machine_busy_percent: float = 0.0
    others_percent: float = 0.0
    sustainable: bool = False
    problems: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted ``values`` (``q`` in 0..100); inf stays inf."""
    if not values:
        return math.nan
    rank = max(math.ceil(q / 100.0 * len(values)), 1)
    return values[rank - 1]


def summary_ms(seconds: list[float]) -> dict[str, float | None]:
    """p50/p95/p99/max in milliseconds; None where the value is infinite (a saga that never ended)."""
    ordered = sorted(seconds)
    out: dict[str, float | None] = {}
    for label, q in (("p50", 50.0), ("p95", 95.0), ("p99", 99.0), ("max", 100.0)):
        value = percentile(ordered, q)
        out[label] = None if math.isinf(value) or math.isnan(value) else round(value * 1000.0, 1)
    return out


def _finished_since(target: Target, since: float) -> int:
    with psycopg.connect(target.terminal_dsn, autocommit=True) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {target.terminal_table} WHERE finished_at >= to_timestamp(%s)", (since,)
        ).fetchone()
    return int(row[0]) if row else 0


def _outcomes(target: Target, order_ids: list[str]) -> dict[str, tuple[str, float | None]]:
    with psycopg.connect(target.terminal_dsn, autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT order_id, state, extract(epoch FROM finished_at)::float8 FROM {target.terminal_table} "
            "WHERE order_id = ANY(%s)",
            (order_ids,),
        ).fetchall()
    return {str(order_id): (str(state), finished) for order_id, state, finished in rows}


def finished_since(target: Target, since: float) -> int:
    """Sagas of the target that reached a terminal state at or after ``since`` (wall-clock seconds)."""
    return _finished_since(target, since)


def unfinished_count(target: Target, since: float) -> int:
    """Sagas created at or after ``since`` that are not terminal yet."""
    with psycopg.connect(target.terminal_dsn, autocommit=True) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {target.terminal_table} "
            "WHERE finished_at IS NULL AND created_at >= to_timestamp(%s)",
            (since,),
        ).fetchone()
    return int(row[0]) if row else 0


def settle(target: Target, since: float, timeout_s: float = 60.0) -> int:
    """Wait (bounded) until no saga created since ``since`` is still running; returns how many still are."""
    deadline = time.monotonic() + timeout_s
    left = unfinished_count(target, since)
    if left:
        print(f"    waiting up to {timeout_s:g}s for {left} unfinished sagas", flush=True)
    while left and time.monotonic() < deadline:
        time.sleep(1.0)
        left = unfinished_count(target, since)
    return left


class _Watch:
    """Progress lines and the CPU snapshots at the window's edges, driven by the load loop's ticks."""

    def __init__(self, target: Target, label: str, warmup_s: float, total_s: float, started: float) -> None:
        self.target, self.label, self.warmup_s, self.total_s, self.started = target, label, warmup_s, total_s, started
        self.pids = target.pids()
        self.first: cpu.CpuSnapshot | None = None
        self.second: cpu.CpuSnapshot | None = None
        self._busy = False

    def tick(self, elapsed: float, result: LoadResult, in_flight: int) -> None:
        if self.first is None and elapsed >= self.warmup_s:
            self.first = cpu.snapshot(self.pids)
        elif self.first is not None and self.second is None and elapsed >= self.total_s:
            self.second = cpu.snapshot(self.pids)
        if not self._busy:
            self._busy = True
            asyncio.get_running_loop().create_task(self._print(elapsed, result, in_flight))

    async def _print(self, elapsed: float, result: LoadResult, in_flight: int) -> None:
        try:
            done = await asyncio.to_thread(_finished_since, self.target, self.started)
            answered = sum(1 for r in result.requests if r.answered)
            print(
                f"  [{self.label}] {elapsed:5.1f}s sent {len(result.requests)} answered {answered} "
                f"in flight {in_flight} terminal {done}",
                flush=True,
            )
        finally:
            self._busy = False


def run_step(
    target: Target,
    mode: str,
    rate: float,
    mix: Mix,
    *,
    warmup_s: float,
    duration_s: float,
    drain_s: float,
    seed: int = 1,
) -> StepResult:
    """Offer ``rate`` orders/s for ``warmup_s + duration_s``, wait up to ``drain_s`` for the sagas, analyse."""
    target.prepare()
    label = f"{target.name}/{mode} {rate:g}/s"
    print(f"==> {label}: {warmup_s:g}s warm-up + {duration_s:g}s measured", flush=True)
    started = time.time()
    watch = _Watch(target, label, warmup_s, warmup_s + duration_s, started)
    load = asyncio.run(
        run_open_loop(
            target.orders_url,
            rate,
            warmup_s,
            duration_s,
            mix,
            seed=seed,
            progress=watch.tick,
            path=target.orders_path,
            callers=target.callers,
        )
    )
    if watch.first is None:
        watch.first = cpu.snapshot(watch.pids)
    if watch.second is None:
        watch.second = cpu.snapshot(watch.pids)
    accepted = [r for r in load.requests if r.order_id is not None]
    deadline = time.monotonic() + drain_s
    while time.monotonic() < deadline and _finished_since(target, started) < len(accepted):
        time.sleep(0.5)
    outcomes = _outcomes(target, [r.order_id for r in accepted if r.order_id is not None])
    result = analyse(target.name, mode, load, outcomes)
    use = cpu.between(watch.first, watch.second)
    result.cpu_percent, result.machine_busy_percent = use.percent, use.machine_busy_percent
    result.others_percent = use.others_percent
    _print_result(result)
    return result


def analyse(name: str, mode: str, load: LoadResult, outcomes: dict[str, tuple[str, float | None]]) -> StepResult:
    """Rates, latencies, backlog and the verdict for one step from its requests and their sagas."""
    window = load.window_end - load.window_start
    result = StepResult(name, mode, load.rate, window, generator_max_lag_ms=round(load.max_lag_s * 1000.0, 1))
    measured = [r for r in load.requests if load.window_start <= r.due < load.window_end]
    result.sent = len(measured)
    result.accepted = sum(1 for r in measured if r.status == 202)
    result.http_errors = result.sent - result.accepted
    for request in measured:
        if request.status != 202:
            key = str(request.status)
            result.refused[key] = result.refused.get(key, 0) + 1
    finished = [f for _, f in outcomes.values() if f is not None]
    result.completed_per_s = round(sum(1 for f in finished if load.window_start <= f < load.window_end) / window, 1)
    latencies: dict[str, list[float]] = {}
    for request in measured:
        latencies.setdefault(request.kind, []).append(_latency(request, outcomes))
        if request.order_id is not None:
            state = outcomes.get(request.order_id, ("NO_SAGA", None))[0]
            result.outcomes[state] = result.outcomes.get(state, 0) + 1
    every = [x for values in latencies.values() for x in values]
    result.latency_ms = summary_ms(every)
    result.latency_by_kind_ms = {kind: summary_ms(values) for kind, values in sorted(latencies.items())}
    result.http_ms = summary_ms([r.answered - r.due for r in measured if r.status == 202])
    result.unfinished = sum(1 for x in every if math.isinf(x))
    timeline = backlog_timeline(load.requests, finished, load.window_start, load.window_end)
    result.backlog_end = timeline[-1] if timeline else 0
    result.backlog_slope_per_s = round(_slope(timeline), 2)
    result.problems = _problems(result)
    result.sustainable = not result.problems
    return result


def _latency(request: Sent, outcomes: dict[str, tuple[str, float | None]]) -> float:
    if request.order_id is None:
        return math.inf
    finished = outcomes.get(request.order_id, ("", None))[1]
    return math.inf if finished is None else max(finished - request.due, 0.0)


def backlog_timeline(requests: list[Sent], finished: list[float], start: float, end: float) -> list[int]:
    """Accepted orders minus terminal sagas at each whole second from ``start`` to ``end``."""
    accepted = sorted(r.answered for r in requests if r.order_id is not None)
    done = sorted(finished)
    points, a, d, t = [], 0, 0, start
    while t <= end + 1e-9:
        while a < len(accepted) and accepted[a] <= t:
            a += 1
        while d < len(done) and done[d] <= t:
            d += 1
        points.append(a - d)
        t += 1.0
    return points


def _slope(points: list[int]) -> float:
    """Least-squares slope (per step) of ``points``."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2.0, sum(points) / n
    num = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(points))
    den = sum((i - mean_x) ** 2 for i in range(n))
    return num / den


def _problems(result: StepResult) -> list[str]:
    problems = []
    if result.sent and result.http_errors > 0.01 * result.sent:
        problems.append(f"{result.http_errors} of {result.sent} requests not accepted {result.refused}")
    p99 = result.latency_ms.get("p99")
    limit = P99_LIMIT_MS + _P99_ALLOWANCE_MS.get(result.mode, 0.0)
    if p99 is None or p99 >= limit:
        problems.append(f"p99 {p99 if p99 is not None else 'inf'} ms >= {limit:g} ms")
    if result.backlog_slope_per_s > max(0.02 * result.offered_per_s, 1.0):
        problems.append(f"backlog grows {result.backlog_slope_per_s:g}/s")
    if result.generator_max_lag_ms > 200.0:
        problems.append(f"load generator fell {result.generator_max_lag_ms:g} ms behind")
    return problems


def _print_result(r: StepResult) -> None:
    lat = r.latency_ms
    verdict = "sustainable" if r.sustainable else "NOT sustainable: " + "; ".join(r.problems)
    print(
        f"    completed {r.completed_per_s:g}/s (offered {r.offered_per_s:g}/s), latency p50 {lat.get('p50')} "
        f"p95 {lat.get('p95')} p99 {lat.get('p99')} max {lat.get('max')} ms, backlog at end {r.backlog_end} "
        f"(slope {r.backlog_slope_per_s:g}/s), outcomes {r.outcomes}",
        flush=True,
    )
    cpu_text = ", ".join(f"{k} {v:g}%" for k, v in r.cpu_percent.items())
    print(f"    cpu: {cpu_text}; machine {r.machine_busy_percent:g}% (others {r.others_percent:g}%)", flush=True)
    print(f"    -> {verdict}", flush=True)


def as_dict(result: StepResult) -> dict[str, Any]:
    """The step as JSON-ready data."""
    return dict(vars(result))
