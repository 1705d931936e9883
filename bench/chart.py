"""The results chart: latency percentiles and completed rate against offered rate, one line per mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

_STYLES = {
    "latency": "tab:purple",
    "emulator": "tab:blue",
    "instant": "tab:green",
    "dbos": "tab:orange",
    "dbos-latency": "tab:brown",
    "dbos-instant": "tab:red",
}
_PERCENTILES = (("p50", ":", "o"), ("p95", "--", "s"), ("p99", "-", "^"))


def _series(steps: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_mode: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        mode = str(step["mode"])
        if step["target"] == "dbos":
            mode = "dbos" if mode == "emulator" else f"dbos-{mode}"
        if mode in _STYLES:
            by_mode.setdefault(mode, []).append(step)
    return {mode: sorted(items, key=lambda s: float(s["offered_per_s"])) for mode, items in by_mode.items()}


def draw(results: dict[str, Any], path: Path) -> None:
    """Write the chart of ``results["steps"]`` as a PNG at ``path``."""
    series = _series(results.get("steps", []))
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), dpi=110)
    for mode, steps in series.items():
        color = _STYLES[mode]
        for label, style, marker in _PERCENTILES:
            points = [(s["offered_per_s"], s["latency_ms"][label]) for s in steps if s["latency_ms"].get(label)]
            if points:
                left.plot(
                    [x for x, _ in points],
                    [y for _, y in points],
                    linestyle=style,
                    marker=marker,
                    color=color,
                    label=f"{mode} {label}",
                )
        offered = [s["offered_per_s"] for s in steps]
        right.plot(offered, [s["completed_per_s"] for s in steps], marker="o", color=color, label=mode)
        failed = [(s["offered_per_s"], s["completed_per_s"]) for s in steps if not s["sustainable"]]
        if failed:
            right.scatter([x for x, _ in failed], [y for _, y in failed], marker="x", s=80, color="black", zorder=3)
    left.axhline(1000, color="grey", linewidth=0.8)
    left.set(xlabel="offered orders/s", ylabel="order to terminal saga (ms)", yscale="log", title="Latency")
    left.legend(fontsize=7)
    top = max([float(s["offered_per_s"]) for s in results.get("steps", [])] + [1.0])
    right.plot([0, top], [0, top], color="grey", linewidth=0.8, linestyle="--", label="completed = offered")
    right.set(xlabel="offered orders/s", ylabel="completed sagas/s", title="Throughput (x: not sustainable)")
    right.legend(fontsize=7)
    machine = results.get("machine", {})
    quick = " - QUICK SMOKE RUN" if results.get("quick") else ""
    figure.suptitle(f"RetroVault sagas, {machine.get('nproc')} x {machine.get('cpu_model')}{quick}", fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
