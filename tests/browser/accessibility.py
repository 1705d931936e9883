"""Accessibility checks with axe-core, the npm package pinned in ``tests/browser/package.json`` and installed by
``make axe`` into ``.local/node/``: its script is evaluated in the page (as ``@axe-core/playwright`` does, so a
page's Content-Security-Policy does not stop it) and ``axe.run`` reports what the page gets wrong."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
PINNED = Path(__file__).with_name("package.json")
INSTALLED = ROOT / ".local" / "node" / "node_modules" / "axe-core"

BLOCKING = ("serious", "critical")
"""The impacts a page may not have any of (axe's scale: minor, moderate, serious, critical)."""


@cache
def axe_source() -> str:
    """axe.min.js of the pinned version; fails the test (with what to run) when it is missing or another version."""
    pinned = json.loads(PINNED.read_text())["dependencies"]["axe-core"]
    manifest = INSTALLED / "package.json"
    installed = json.loads(manifest.read_text())["version"] if manifest.exists() else None
    if installed != pinned:
        pytest.fail(f"axe-core {pinned} is not installed in {INSTALLED.parent} (found {installed}): run `make axe`")
    return (INSTALLED / "axe.min.js").read_text()


@dataclass(frozen=True)
class Violation:
    """One rule a page breaks, where (CSS selectors of the nodes) and why (axe's failure summary)."""

    rule: str
    impact: str
    help: str
    nodes: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        lines = [f"{self.impact}: {self.rule} ({self.help}), {len(self.nodes)} node(s):"]
        lines += [f"    {target}: {summary}" for target, summary in self.nodes[:5]]
        if len(self.nodes) > 5:
            lines.append(f"    … and {len(self.nodes) - 5} more")
        return "\n".join(lines)


def violations(page: Page) -> list[Violation]:
    """Every axe-core violation on the page as it is now (all of axe's default rules)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    found: list[dict[str, Any]] = page.evaluate("async () => (await window.axe.run(document)).violations")
    return [
        Violation(
            rule=v["id"],
            impact=v["impact"] or "unknown",
            help=v["help"],
            nodes=tuple((" ".join(map(str, n["target"])), " ".join(n["failureSummary"].split())) for n in v["nodes"]),
        )
        for v in found
    ]


def assert_accessible(page: Page, what: str) -> None:
    """Fail, listing rule, nodes and reason, if the page has any serious or critical violation."""
    serious = [v for v in violations(page) if v.impact in BLOCKING]
    assert not serious, f"{what} ({page.url}) has {len(serious)} serious accessibility violation(s):\n" + "\n".join(
        map(str, serious)
    )
