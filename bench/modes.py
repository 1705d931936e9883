"""The gateway modes beyond the emulator: the latency gateway (the headline), the instant gateway, and the
DBOS peer in each mode.

The latency gateway answers every Stripe call after ``gateway_latency_ms`` (200 by default), spending no
CPU: what a deployment sees from real Stripe. Its sweep, its 60 s run at the maximum and its run at half the
maximum give the headline figures. Sweeps after the emulator's start at the rate the emulator held: taking
the emulator (a Python process of its own) out of the loop frees CPU, so lower rates would only spend time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bench import measure, stack, sweep
from bench.load import Mix
from bench.measure import StepResult, Target
from bench.peer import PeerProcess, reset_database

if TYPE_CHECKING:
    from bench.__main__ import Run

CONFIRM_TRIES = 3
LATENCY_MODES = ("latency", "latency-confirm", "latency-half")
"""Steps with the latency gateway (ours and the peer's): sustainable with a p99 up to 1 s plus two gateway
calls (a saga makes two: create the PaymentIntent, confirm it), as the p99 target allows."""


@contextmanager
def payment_gateway(gateway: str, latency_ms: int) -> Iterator[None]:
    """The payment service restarted with ``gateway`` for the block, then with Stripe (the emulator) again."""
    print(f"==> restarting payment with RV_PAYMENT_GATEWAY={gateway}", flush=True)
    stack.restart_payment(gateway, latency_ms)
    try:
        yield
    finally:
        print("==> restarting payment with the Stripe gateway", flush=True)
        stack.restart_payment("stripe")


def sweep_from(target: Target, mode: str, mix: Mix, run: Run, start_per_s: float | None) -> list[StepResult]:
    """A sweep over the planned rates from ``start_per_s`` up; if none of those holds, the rates below it."""
    rates = run.plan.rates
    upper = tuple(r for r in rates if start_per_s is None or r >= start_per_s) or rates[-1:]
    results = sweep.sweep(target, mode, mix, dataclasses.replace(run.plan, rates=upper), since=run.started)
    lower = tuple(r for r in rates if r < upper[0])
    if sweep.max_sustainable(results) is None and lower:
        results += sweep.sweep(target, mode, mix, dataclasses.replace(run.plan, rates=lower), since=run.started)
    return results


def cpu_ms_per_saga(step: StepResult) -> dict[str, float]:
    """CPU milliseconds each process spent per completed saga in ``step`` (and all of them: ``total``)."""
    if step.completed_per_s <= 0:
        return {}
    per = {name: round(pct * 10.0 / step.completed_per_s, 2) for name, pct in step.cpu_percent.items()}
    per["total"] = round(sum(per.values()), 2)
    return per


def latency(run: Run, target: Target, mix: Mix) -> None:
    """The headline: the sweep, the 60 s run at the maximum (write transactions and CPU per saga measured
    there) and the run at half the maximum, with the latency gateway."""
    ms = run.args.gateway_latency_ms
    run.out["mode_headline"], run.out["gateway_latency_ms"] = "latency", ms
    measure.allow_p99(LATENCY_MODES, 2.0 * ms)
    with payment_gateway("latency", ms):
        idle = sweep.idle_commit_rate(target, 5.0)
        results = sweep_from(target, "latency", mix, run, run.out.get("max_sustained_offered_per_s"))
        best = sweep.max_sustainable(results)
        run.out["latency_sweep_max_sagas_per_s"] = best.completed_per_s if best else 0.0
        run.out["latency_max_sustained_offered_per_s"] = best.offered_per_s if best else 0.0
        if best is not None and run.plan.confirm_s > 0:
            held = _hold(run, target, mix, results, idle)
            run.out["latency_max_sustained_sagas_per_s"] = held.completed_per_s if held.sustainable else 0.0
            run.out["cpu_ms_per_saga"] = cpu_ms_per_saga(held)
        elif best is not None:
            run.notes.append("latency mode: no long run (--confirm 0); CPU per saga from the sweep's best step")
            run.out["cpu_ms_per_saga"] = cpu_ms_per_saga(best)
        if best is not None:
            rate = max(best.offered_per_s / 2.0, 1.0)
            half = sweep.at_rate(target, "latency-half", rate, run.plan.duration_s, mix, run.plan, run.started)
            results.append(half)
            run.out["p99_ms_at_half_max"] = half.latency_ms.get("p99")
    run.steps += results


def _hold(run: Run, target: Target, mix: Mix, results: list[StepResult], idle: float) -> StepResult:
    """The long run at the sweep's best rate, then down its other passing rates (three tries at most), each
    with its write transactions per saga counted."""
    passing = sorted({r.offered_per_s for r in results if r.sustainable}, reverse=True)[:CONFIRM_TRIES]
    for rate in passing:
        meter = sweep.CommitMeter(target, idle)
        held = sweep.at_rate(target, "latency-confirm", rate, run.plan.confirm_s, mix, run.plan, run.started)
        commits = meter.close(run.loaded_s([held]))
        results.append(held)
        run.out["latency_commits_at_max"] = commits
        run.out["write_transactions_per_saga_at_max"] = commits.get("write_transactions_per_saga_server")
        run.out["latency_sustained_run"] = measure.as_dict(held)
        if held.sustainable:
            break
    return held


def instant(run: Run, target: Target, mix: Mix) -> None:
    """The instant gateway: the single order's latency without Stripe's, and the sweep (the saga machinery's
    own cost)."""
    with payment_gateway("instant", 0):
        if run.wants("instant-single"):
            step = sweep.single(target, mix, run.plan, run.started)
            step.mode = "instant-single"
            run.steps.append(step)
            run.out["instant_p50_ms_single_order"] = step.latency_ms.get("p50")
        if run.wants("instant"):
            results = sweep_from(target, "instant", mix, run, run.out.get("max_sustained_offered_per_s"))
            run.steps += results
            best = sweep.max_sustainable(results)
            run.out["instant_max_sustained_sagas_per_s"] = best.completed_per_s if best else 0.0


def dbos(run: Run, catalogue: list[dict[str, Any]], mix: Mix, gateway: str) -> None:
    """The DBOS peer (one process per core) with ``gateway`` (``stripe``: the emulator, or ``latency``), same
    PostgreSQL, same mix, same rates, with our services stopped."""
    reset_database(catalogue)
    peer = PeerProcess(gateway, latency_ms=run.args.gateway_latency_ms)
    measure.allow_p99(LATENCY_MODES, 2.0 * run.args.gateway_latency_ms)
    mode = "emulator" if gateway == "stripe" else gateway
    print(f"==> starting the DBOS peer ({peer.copies} processes, {mode}) on {peer.url}", flush=True)
    with stack.services_stopped():
        peer.start()
        try:
            target = peer.target(mix)
            meter = sweep.CommitMeter(target, sweep.idle_commit_rate(target, 5.0))
            start = None if gateway == "stripe" else run.out.get("dbos_max_sustained_offered_per_s")
            results = sweep_from(target, mode, mix, run, start)
            commits = meter.close(run.loaded_s(results))
        finally:
            peer.stop()
    run.steps += results
    best = sweep.max_sustainable(results)
    if gateway == "stripe":
        run.out["dbos_sagas_per_s"] = best.completed_per_s if best else 0.0
        run.out["dbos_max_sustained_offered_per_s"] = best.offered_per_s if best else 0.0
        run.out["dbos_commits"] = commits
        run.out["dbos_commits_per_saga"] = commits["commits_per_saga"]
        run.out["dbos_write_transactions_per_saga"] = commits.get("write_transactions_per_saga_server")
        run.out["dbos_processes"] = peer.copies
    else:
        run.out["dbos_latency_sagas_per_s"] = best.completed_per_s if best else 0.0
        run.out["dbos_latency_commits"] = commits
