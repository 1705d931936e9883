"""Results: the JSON file, the chart, and the summary block in docs/performance.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import chart

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
DOC = REPO_ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"

TARGETS = {
    "latency_max_sustained_sagas_per_s": ("completed sagas/s held for 60 s, latency gateway (headline)", 150.0, ">="),
    "ratio_vs_dbos_latency": ("sagas/s against the two-process DBOS peer, latency gateway", 3.0, ">="),
    "instant_p50_ms_single_order": ("p50 of a single order, instant gateway", 30.0, "<="),
    "p99_ms_at_half_max": ("p99 at half the maximum rate, latency gateway (250 + 2 x latency)", 250.0, "<="),
    "write_transactions_per_saga_at_max": ("write transactions per saga at the maximum rate", 4.0, "<="),
    "sustained_sagas_per_s": ("300 completed sagas/s for 60 s, emulator in the loop", 300.0, ">="),
    "p50_ms_single_order": ("p50 of a single order, emulator", 30.0, "<="),
    "ratio_vs_dbos": ("sagas/s against the DBOS peer, emulator", 2.0, ">="),
}
_LATENCY_BUDGETS = {"p99_ms_at_half_max": 2.0}
"""Targets that grow with the gateway's latency: this many times ``gateway_latency_ms`` on top."""


def verdicts(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target with the measured value and whether it is met (None: not measured)."""
    out = {}
    for key, (label, base, sense) in TARGETS.items():
        goal = base + _LATENCY_BUDGETS.get(key, 0.0) * float(results.get("gateway_latency_ms") or 0)
        value = results.get(key)
        met = None if value is None else (value >= goal if sense == ">=" else value <= goal)
        out[key] = {"target": f"{sense} {goal:g}", "label": label, "actual": value, "met": met}
    return out


def write(results: dict[str, Any], directory: Path, *, update_docs: bool) -> None:
    """``latest.json`` and ``latest.png`` in ``directory``; the summary in docs/performance.md if asked."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    try:
        chart.draw(results, directory / "latest.png")
    except Exception as error:  # a missing chart must not lose the numbers
        print(f"bench: could not draw the chart: {error!r}", flush=True)
    summary = markdown(results)
    (directory / "latest.md").write_text(summary)
    if update_docs and DOC.exists():
        text = DOC.read_text()
        if BEGIN in text and END in text:
            head, _, rest = text.partition(BEGIN)
            _, _, tail = rest.partition(END)
            DOC.write_text(f"{head}{BEGIN}\n{summary}{END}{tail}")
    print(f"bench: results in {directory / 'latest.json'}, {directory / 'latest.png'}", flush=True)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _api_gateway_rows(found: dict[str, Any] | None) -> list[str]:
    """The API gateway's figures as rows of the headline table (none if that part did not run)."""
    if not found:
        return []
    direct, gated = found["direct"], found["through_gateway"]
    held = {True: "held", False: "**not held**"}[bool(gated["sustainable"])]
    return [
        f"| API gateway: {found['rate_per_s']:g} orders/s through it ({found['customers']} customer tokens) | {held}"
        f", {_fmt(gated['completed_per_s'])} sagas/s (direct {_fmt(direct['completed_per_s'])}) | | |",
        f"| API gateway: HTTP p50 / p99 ms, through it vs direct | {_fmt(gated['http_p50_ms'])} / "
        f"{_fmt(gated['http_p99_ms'])} vs {_fmt(direct['http_p50_ms'])} / {_fmt(direct['http_p99_ms'])} | | |",
        f"| API gateway: saga p50 / p99 ms, through it vs direct | {_fmt(gated['saga_p50_ms'])} / "
        f"{_fmt(gated['saga_p99_ms'])} vs {_fmt(direct['saga_p50_ms'])} / {_fmt(direct['saga_p99_ms'])} | | |",
        f"| api_gateway_cpu_ms_per_order (the gateway's CPU per order) | {_fmt(found['gateway_cpu_ms_per_order'])}"
        " | | |",
    ]


def markdown(results: dict[str, Any]) -> str:
    """The run as Markdown: machine, headline figures against the targets, and every step."""
    m = results["machine"]
    lines = []
    if results.get("quick"):
        lines.append("**QUICK SMOKE RUN** (short steps at low rates; not a measurement of capacity).\n")
    if results.get("mode_headline") == "latency":
        lines.append(
            f"**Headline** (payment's gateway answering each Stripe call after {results.get('gateway_latency_ms')} ms,"
            f" as Stripe does): {_fmt(results.get('latency_max_sustained_sagas_per_s'))} completed sagas/s held for"
            f" 60 s; p99 {_fmt(results.get('p99_ms_at_half_max'))} ms at half that rate;"
            f" {_fmt(results.get('ratio_vs_dbos_latency'))}x the DBOS peer in the same mode.\n"
        )
    lines += [
        f"Run {results['started_at']} ({results['duration_s']:g} s): {m['nproc']} x {m['cpu_model']}, "
        f"{m['memory_gib']} GiB, kernel {m['kernel']}, load average at start {m['load_average_at_start']}.\n",
        "| figure | value | target | met |",
        "|---|---|---|---|",
    ]
    for v in results["targets"].values():
        met = {True: "yes", False: "**no**", None: "not measured"}[v["met"]]
        lines.append(f"| {v['label']} | {_fmt(v['actual'])} | {v['target']} | {met} |")
    cpu = results.get("cpu_ms_per_saga") or {}
    lines.append(f"| cpu_ms_per_saga (latency, at the maximum) | {_fmt(cpu.get('total'))} | | |")
    lines += _api_gateway_rows(results.get("api_gateway"))
    for key in (
        "mode_headline",
        "gateway_latency_ms",
        "latency_sweep_max_sagas_per_s",
        "dbos_latency_sagas_per_s",
        "dbos_processes",
        "max_sustained_sagas_per_s",
        "max_sustained_offered_per_s",
        "emulator_p99_ms_at_half_max",
        "instant_max_sustained_sagas_per_s",
        "dbos_sagas_per_s",
        "pgbench_tps",
        "commits_per_saga",
        "write_transactions_per_saga",
        "dbos_commits_per_saga",
        "dbos_write_transactions_per_saga",
        "db_ceiling_sagas_per_s",
        "db_ceiling_all_commits_sagas_per_s",
        "fraction_of_db_ceiling",
    ):
        lines.append(f"| {key} | {_fmt(results.get(key))} | | |")
    lines += [
        "",
        "| target/mode | offered/s | completed/s | p50 ms | p95 ms | p99 ms | max ms | backlog slope/s | ok | "
        "busiest processes (% of a core) | machine % |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in results["steps"]:
        lat = s["latency_ms"]
        busiest = sorted(s["cpu_percent"].items(), key=lambda kv: -kv[1])[:4]
        cpu_text = ", ".join(f"{k} {v:g}" for k, v in busiest)
        lines.append(
            f"| {s['target']}/{s['mode']} | {s['offered_per_s']:g} | {s['completed_per_s']:g} | {_fmt(lat['p50'])} | "
            f"{_fmt(lat['p95'])} | {_fmt(lat['p99'])} | {_fmt(lat['max'])} | {s['backlog_slope_per_s']:g} | "
            f"{'yes' if s['sustainable'] else 'no'} | {cpu_text} | {s['machine_busy_percent']:g} |"
        )
    for note in results.get("notes", []):
        lines.append(f"\n- {note}")
    return "\n".join(lines) + "\n"
