"""``python -m bench``: the whole benchmark (sweep, peer, limit) with bounded defaults; ``--quick`` for a smoke run.

Runs against the stack the ``RV_*`` variables point at, starting it if it is not up (and then stopping it
again at the end). It restarts that stack's payment service for the latency and instant gateway modes (and
back), so do not point it at a stack someone else is using.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import api_gateway, measure, modes, pgbench, report, stack, sweep
from bench.load import Mix
from bench.measure import StepResult, Target

REQUIRED = (
    "mode_headline",
    "gateway_latency_ms",
    "latency_max_sustained_sagas_per_s",
    "instant_p50_ms_single_order",
    "p99_ms_at_half_max",
    "dbos_latency_sagas_per_s",
    "ratio_vs_dbos_latency",
    "write_transactions_per_saga_at_max",
    "cpu_ms_per_saga",
    "max_sustained_sagas_per_s",
    "p50_ms_single_order",
    "emulator_p99_ms_at_half_max",
    "dbos_sagas_per_s",
    "pgbench_tps",
    "commits_per_saga",
    "sustained_sagas_per_s",
    "api_gateway_cpu_ms_per_order",
)
"""Fields latest.json always has (null when that part did not run or found no sustainable rate)."""
WARM_UP_RATE = 15.0
CONFIRM_TRIES = 3
PARTS = (
    "single",
    "sweep",
    "confirm",
    "half",
    "api-gateway",
    "latency",
    "instant-single",
    "instant",
    "dbos",
    "dbos-latency",
    "pgbench",
)
"""single/sweep/confirm/half: the emulator mode; api-gateway: one rate straight to orders and through the
gateway (emulator mode); latency: the headline (its sweep, 60 s run and half-rate run);
instant-single, instant: the instant gateway's single order and sweep; dbos, dbos-latency: the peer."""
FULL: dict[str, Any] = {
    "rates": "10,15,20,25,30,40,60,100,200,300",
    "warmup": 5.0,
    "duration": 15.0,
    "confirm": 60.0,
    "warm_up": 60.0,
    "api_gateway_rate": 20.0,
}
QUICK: dict[str, Any] = {
    "rates": "10,25",
    "warmup": 3.0,
    "duration": 10.0,
    "confirm": 0.0,
    "warm_up": 10.0,
    "api_gateway_rate": 10.0,
}


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options (defaults: the full run; ``--quick``: a smoke run of a few minutes)."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="a couple of low rates, 10 s each; marked quick")
    p.add_argument("--rates", help="offered rates of the sweeps, e.g. 25,50,100")
    p.add_argument("--warmup", type=float, help="seconds of warm-up before each measured window")
    p.add_argument("--duration", type=float, help="seconds measured per step")
    p.add_argument(
        "--warm-up", type=float, help="seconds of unreported load first, so the JITs and caches are warm (default 60)"
    )
    p.add_argument("--drain", type=float, default=10.0, help="seconds to wait for sagas after the load stops")
    p.add_argument("--confirm", type=float, help="seconds of the long run at the maximum rate (0: none)")
    p.add_argument("--no-refine", action="store_true", help="no bisection between the last good and first bad rate")
    p.add_argument(
        "--api-gateway-rate", type=float, help="orders/s of the API gateway's two steps (default 20; quick: 10)"
    )
    p.add_argument("--single-rate", type=float, default=2.0, help="orders/s for the single-order latency")
    p.add_argument("--single-duration", type=float, default=10.0)
    p.add_argument("--parts", default=",".join(PARTS), help=f"which parts to run, of {','.join(PARTS)}")
    p.add_argument("--pgbench-clients", help="client counts (default 1,4,16,32; quick: 1,8)")
    p.add_argument("--pgbench-seconds", type=int, help="seconds per client count (default 10; quick: 5)")
    p.add_argument("--pgbench-scale", type=int, help="pgbench scale factor (default 5; quick: 1)")
    p.add_argument("--output", type=Path, default=report.RESULTS_DIR, help="where latest.json/.png/.md go")
    p.add_argument("--no-docs", action="store_true", help="do not rewrite the results block of docs/performance.md")
    p.add_argument("--keep-stack", action="store_true", help="leave a stack this run started running")
    p.add_argument("--instances", type=int, default=1, help="instances of every service to run and measure (default 1)")
    p.add_argument(
        "--gateway-latency-ms", type=int, default=200, help="the latency gateway's answer time per Stripe call"
    )
    args = p.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    args.rates = _floats(args.rates or str(defaults["rates"]))
    args.warmup = args.warmup if args.warmup is not None else float(defaults["warmup"])
    args.duration = args.duration if args.duration is not None else float(defaults["duration"])
    args.confirm = args.confirm if args.confirm is not None else float(defaults["confirm"])
    args.warm_up = args.warm_up if args.warm_up is not None else float(defaults["warm_up"])
    if args.api_gateway_rate is None:
        args.api_gateway_rate = float(defaults["api_gateway_rate"])
    pgbench_defaults = ("1,8", 5, 1) if args.quick else ("1,4,16,32", 10, 5)
    args.pgbench_clients = args.pgbench_clients or pgbench_defaults[0]
    args.pgbench_seconds = args.pgbench_seconds or pgbench_defaults[1]
    args.pgbench_scale = args.pgbench_scale or pgbench_defaults[2]
    args.parts = {x.strip() for x in args.parts.split(",") if x.strip()}
    unknown = args.parts - set(PARTS)
    if unknown:
        p.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if args.instances < 1:
        p.error("--instances must be at least 1")
    return args


class Run:
    """One benchmark run: its plan, the steps so far and the headline figures."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.plan = sweep.Plan(
            rates=args.rates,
            warmup_s=args.warmup,
            duration_s=args.duration,
            drain_s=args.drain,
            single_rate=args.single_rate,
            single_s=args.single_duration,
            confirm_s=args.confirm,
            refine=not args.no_refine,
        )
        self.started = time.time()
        self.steps: list[StepResult] = []
        self.notes: list[str] = []
        self.out: dict[str, Any] = {
            "quick": bool(args.quick),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": stack.machine(),
            "settings": {k: sorted(v) if isinstance(v, set) else v for k, v in vars(args).items() if k != "output"},
        }

    def wants(self, part: str) -> bool:
        """Whether ``part`` was asked for."""
        return part in self.args.parts

    def loaded_s(self, steps: list[StepResult]) -> float:
        """Seconds of offered load in ``steps`` (warm-up included)."""
        return sum(s.duration_s + self.plan.warmup_s for s in steps)

    def ours(self, target: Target, mix: Mix) -> None:
        """RetroVault with the emulator: single order, sweep, the long run, half the maximum."""
        idle = sweep.idle_commit_rate(target, 5.0) if self.wants("sweep") else 0.0
        if self.wants("single"):
            step = sweep.single(target, mix, self.plan, self.started)
            self.steps.append(step)
            self.out["p50_ms_single_order"] = step.latency_ms.get("p50")
            self.out["single_order"] = {"latency_ms": step.latency_ms, "by_kind": step.latency_by_kind_ms}
        if not self.wants("sweep"):
            return
        meter = sweep.CommitMeter(target, idle)
        results = sweep.sweep(target, "emulator", mix, self.plan, since=self.started)
        best = sweep.max_sustainable(results)
        if best is not None and self.wants("confirm") and self.plan.confirm_s > 0:
            long_run = self._confirm(target, mix, results)
            self.out["sustained_sagas_per_s"] = long_run.completed_per_s if long_run.sustainable else 0.0
            self.out["sustained_run"] = measure.as_dict(long_run)
        if best is not None and self.wants("half"):
            half = sweep.at_rate(
                target, "half", max(best.offered_per_s / 2.0, 1.0), self.plan.duration_s, mix, self.plan, self.started
            )
            results.append(half)
            self.out["emulator_p99_ms_at_half_max"] = half.latency_ms.get("p99")
        self.steps += results
        self.out["max_sustained_offered_per_s"] = best.offered_per_s if best else 0.0
        self.out["max_sustained_sagas_per_s"] = best.completed_per_s if best else 0.0
        self.out["commits"] = meter.close(self.loaded_s(results))
        self.out["commits_per_saga"] = self.out["commits"]["commits_per_saga"]
        self.out["write_transactions_per_saga"] = self.out["commits"].get("write_transactions_per_saga_server")
        self.out["idle_commits_per_s"] = round(idle, 1)

    def _confirm(self, target: Target, mix: Mix, results: list[StepResult]) -> StepResult:
        """The long run: at the sweep's best rate, then down its other passing rates (three tries at most).

        A 15 s step can pass at a rate that 60 s do not hold; the figure is the highest rate that does.
        """
        passing = sorted({r.offered_per_s for r in results if r.sustainable}, reverse=True)[:CONFIRM_TRIES]
        for rate in passing:
            long_run = sweep.at_rate(target, "confirm", rate, self.plan.confirm_s, mix, self.plan, self.started)
            results.append(long_run)
            if long_run.sustainable:
                break
        return long_run

    def api_gateway(self, target: Target, mix: Mix) -> None:
        """The same orders straight to orders and through the gateway, at ``--api-gateway-rate``."""
        steps, found = api_gateway.measure(target, mix, self.args.api_gateway_rate, self.plan, self.started)
        self.steps += steps
        self.out["api_gateway"] = found
        self.out["api_gateway_cpu_ms_per_order"] = found["gateway_cpu_ms_per_order"]

    def limit(self) -> None:
        """pgbench on the same server."""
        runs = pgbench.sweep(_ints(self.args.pgbench_clients), self.args.pgbench_seconds, self.args.pgbench_scale)
        self.out["pgbench"] = [vars(r) for r in runs]
        self.out["pgbench_tps"] = round(max(r.tps for r in runs), 1)

    def finish(self) -> dict[str, Any]:
        """Derived figures, verdicts and the steps, ready to write."""
        out = self.out
        ours, dbos = out.get("max_sustained_sagas_per_s"), out.get("dbos_sagas_per_s")
        out["ratio_vs_dbos"] = round(ours / dbos, 2) if ours is not None and dbos else None
        # Sweep against sweep, as for the emulator: the peer has no 60 s run.
        ours, dbos = out.get("latency_sweep_max_sagas_per_s"), out.get("dbos_latency_sagas_per_s")
        out["ratio_vs_dbos_latency"] = round(ours / dbos, 2) if ours is not None and dbos else None
        tps, commits = out.get("pgbench_tps"), out.get("commits_per_saga")
        writes = out.get("write_transactions_per_saga")
        if tps and writes:
            # A pgbench -N transaction is one write transaction: the fair unit for the ceiling.
            out["db_ceiling_sagas_per_s"] = round(tps / writes, 1)
            out["fraction_of_db_ceiling"] = round((ours or 0.0) / out["db_ceiling_sagas_per_s"], 3)
        if tps and commits:
            out["db_ceiling_all_commits_sagas_per_s"] = round(tps / commits, 1)
        for key in REQUIRED:
            out.setdefault(key, None)
        if self.args.quick:
            self.notes.append("quick run: short steps at low rates; the figures say nothing about capacity")
        out["targets"] = report.verdicts(out)
        out["steps"] = [measure.as_dict(s) for s in self.steps]
        out["notes"] = self.notes
        out["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        out["duration_s"] = round(time.time() - self.started, 1)
        return out


def _guarded(run: Run, name: str, part: Callable[[], None]) -> None:
    try:
        part()
    except Exception as error:
        run.notes.append(f"{name} failed: {error!r}")
        print(f"bench: {name} failed: {error!r}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write its results."""
    args = parse(argv)
    run = Run(args)
    stack.use_instances(args.instances)
    os.environ["RV_KAFKA_JIT"] = "full"
    started_stack = stack.ensure_up()
    stack.broker_for_load()
    print("==> localstripe: empty, in memory only, for this run", flush=True)
    stack.emulator(persistent=False)
    try:
        catalogue = stack.products()
        mix = stack.choose_mix(catalogue)
        target = stack.target(mix)
        if args.warm_up > 0:
            print(f"==> warming the stack up: {args.warm_up:g}s at {WARM_UP_RATE}/s (not reported)", flush=True)
            sweep.at_rate(target, "warm-up", WARM_UP_RATE, args.warm_up, mix, run.plan, run.started)
        if run.wants("single") or run.wants("sweep"):
            _guarded(run, "retrovault", lambda: run.ours(target, mix))
        if run.wants("api-gateway"):
            _guarded(run, "API gateway", lambda: run.api_gateway(target, mix))
        if run.wants("latency"):
            _guarded(run, "latency mode", lambda: modes.latency(run, target, mix))
        if run.wants("instant-single") or run.wants("instant"):
            _guarded(run, "instant mode", lambda: modes.instant(run, target, mix))
        if run.wants("dbos"):
            _guarded(run, "DBOS peer", lambda: modes.dbos(run, catalogue, mix, "stripe"))
        if run.wants("dbos-latency"):
            _guarded(run, "DBOS peer, latency mode", lambda: modes.dbos(run, catalogue, mix, "latency"))
        if run.wants("pgbench"):
            _guarded(run, "pgbench", run.limit)
        results = run.finish()
        report.write(results, args.output, update_docs=not args.no_docs)
        print(report.markdown(results), flush=True)
    finally:
        if started_stack and not args.keep_stack:
            stack.down()
        else:
            stack.emulator(persistent=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
