"""pyproject.toml describes the runtime exactly: the runtime packages import what it declares and nothing else, it
declares nothing they do not use, and its ranges hold requirements.txt's pins (what `make` installs)."""

from __future__ import annotations

import ast
import sys
import tomllib
from functools import cache
from importlib.metadata import distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from tests.unit.test_layout import FIRST_PARTY, PRODUCTION, python_files

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(line) for line in PROJECT["dependencies"]]
DEV = [Requirement(line) for line in PROJECT["optional-dependencies"]["dev"]]
USED_WITHOUT_AN_IMPORT = {
    "httptools": "uvicorn's HTTP parser, which uvicorn picks when it is installed",
    "uvloop": "uvicorn's event loop, likewise",
    "opentelemetry-instrumentation-asgi": "imported by Litestar's OpenTelemetryPlugin, which plumbing.wiring uses",
}


def pins() -> dict[NormalizedName, str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return {canonicalize_name(name): version for name, _, version in (line.partition("==") for line in lines)}


@cache
def modules() -> dict[str, NormalizedName]:
    """Every installed module (from each distribution's list of files) -> the distribution that installed it."""
    found: dict[str, NormalizedName] = {}
    for dist in distributions():
        name = canonicalize_name(dist.metadata["Name"])
        for file in map(str, dist.files or []):
            if file.endswith((".py", ".so")) and not file.startswith(".."):
                found[file.split(".")[0].replace("/", ".").removesuffix(".__init__")] = name
    return found


def distribution_of(name: str) -> NormalizedName | None:
    """The distribution whose module holds ``name`` (a module or a name in one); None for a namespace package."""
    parts = name.split(".")
    for length in range(len(parts), 0, -1):
        if (owner := modules().get(".".join(parts[:length]))) is not None:
            return owner
    return None


def third_party_imports() -> set[str]:
    """Every module the runtime packages import from outside the project and the standard library."""
    found: set[str] = set()
    for package in PRODUCTION:
        for path in python_files(package):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    found |= {alias.name for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return {name for name in found if name.split(".")[0] not in {*FIRST_PARTY, *sys.stdlib_module_names}}


def test_the_runtime_dependencies_are_what_the_runtime_packages_import() -> None:
    imported = {distribution_of(name) for name in third_party_imports()} - {None}
    declared = {canonicalize_name(requirement.name) for requirement in RUNTIME}
    assert declared - set(USED_WITHOUT_AN_IMPORT) == imported


def test_every_range_holds_the_pinned_version() -> None:
    pinned = pins()
    outside = {
        str(requirement): pinned.get(canonicalize_name(requirement.name))
        for requirement in RUNTIME + DEV
        if not requirement.specifier.contains(pinned.get(canonicalize_name(requirement.name), "0"), prereleases=True)
    }
    assert outside == {}
