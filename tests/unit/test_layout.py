"""The codebase keeps its shape: the same layout in every service, small files, no import cycles.

Read from the source with ``ast``, so it needs nothing running.
"""

from __future__ import annotations

import ast
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from plumbing.services import ALL_SERVICES, SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
EVERY_SERVICE = tuple(s.name for s in ALL_SERVICES)
"""The message-driven services and the gateway (which has no ``entrypoints/messages.py``: it consumes nothing)."""
PRODUCTION = ("contracts", "plumbing", *EVERY_SERVICE)
LAYOUT = ("ports.py", "services.py", "bootstrap.py", "entrypoints/http.py")
FIRST_PARTY = {"contracts", "plumbing", "infra", "tools", "bench", "tests", *EVERY_SERVICE}


def python_files(package: str) -> Iterator[Path]:
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def imports(path: Path) -> set[str]:
    """The first-party modules ``path`` imports (absolute imports only; the codebase uses no others)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in FIRST_PARTY}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("service", EVERY_SERVICE)
def test_every_service_has_the_same_layout(service: str) -> None:
    layout = (*LAYOUT, "entrypoints/messages.py") if service in SERVICE_NAMES else LAYOUT
    assert [part for part in layout if not (ROOT / service / part).exists()] == []


@pytest.mark.parametrize("package", [*PRODUCTION, "infra"])
def test_no_production_file_is_over_300_lines(package: str) -> None:
    assert {str(p.relative_to(ROOT)): lines(p) for p in python_files(package) if lines(p) > 300} == {}


@pytest.mark.parametrize("service", EVERY_SERVICE)
def test_a_services_median_file_is_at_most_60_lines(service: str) -> None:
    assert statistics.median(lines(p) for p in python_files(service)) <= 60


def test_provisioning_is_smaller_than_the_services() -> None:
    infra = sum(lines(p) for p in python_files("infra"))
    services = sum(lines(p) for s in EVERY_SERVICE for p in python_files(s))
    assert infra < services


@pytest.mark.parametrize("service", EVERY_SERVICE)
def test_domains_import_only_the_standard_library(service: str) -> None:
    for path in python_files(f"{service}/domain"):
        outside = {name for name in imports(path) if not name.startswith(f"{service}.domain")}
        assert outside == set(), path
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                top = node.module.split(".")[0]
                assert top in sys.stdlib_module_names or top == service, (path, node.module)


@pytest.mark.parametrize("service", EVERY_SERVICE)
def test_no_service_imports_another_or_the_tooling(service: str) -> None:
    forbidden = ({*EVERY_SERVICE} - {service}) | {"infra", "tools", "bench", "tests"}
    for path in python_files(service):
        assert {name for name in imports(path) if name.split(".")[0] in forbidden} == set(), path


def test_there_is_no_import_cycle() -> None:
    modules = {module_name(p): p for package in (*PRODUCTION, "infra", "tools") for p in python_files(package)}
    # A module importing its own package (whose __init__ runs first) is not a cycle through that package.
    graph = {
        name: {m for m in imports(path) if m in modules and m != name and not name.startswith(m + ".")}
        for name, path in modules.items()
    }
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle in ``graph`` as a path that ends where it starts, or None (depth-first, iterative)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None
