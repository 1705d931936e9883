"""The wheel runs on its own: built from the tree, installed with its runtime dependencies alone into a fresh
virtualenv, it migrates, provisions topics and starts every service until ``/health`` says ok, against the
real stack, with no checkout on its path."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest
from packaging.utils import canonicalize_name

from infra import localstripe
from plumbing.services import ALL_SERVICES, SERVICE_NAMES
from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_PACKAGES = {"catalog", "contracts", "coordinator", "gateway", "orders", "payment", "plumbing"}
DEV_TOOLS = {"pytest", "mypy", "ruff", "playwright", "schemathesis", "hypothesis", "kubernetes-validate"}
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", ".local", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "artifacts"
)

pytestmark = pytest.mark.usefixtures("real_stack")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tree to build from (setuptools' build/ must not leak stale files into the wheel)."""
    copy = tmp_path_factory.mktemp("source") / "retrovault"
    shutil.copytree(ROOT, copy, ignore=NOT_SOURCES)
    return copy


@pytest.fixture(scope="module")
def built(source: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The project's wheel, and a fresh virtualenv holding it and its runtime dependencies at requirements.txt's
    versions. The dependencies (pyproject.toml's list) install while the wheel builds; installing the wheel then
    resolves its own metadata against them (and would fetch anything missing)."""
    out, home = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("venv")
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source)]
    building = subprocess.Popen(build, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        run([sys.executable, "-m", "venv", "--without-pip", str(home)])
        dependencies = tomllib.loads((source / "pyproject.toml").read_text())["project"]["dependencies"]
        run([*pip(home), "install", "--constraint", str(ROOT / "requirements.txt"), *dependencies])
    finally:
        output, _ = building.communicate(timeout=300)
    assert building.returncode == 0, output
    (wheel,) = out.glob("retrovault-*.whl")
    run([*pip(home), "install", "--constraint", str(ROOT / "requirements.txt"), str(wheel)])
    return wheel, home


@pytest.fixture(scope="module")
def wheel(built: tuple[Path, Path]) -> Path:
    """The project's wheel."""
    return built[0]


@pytest.fixture(scope="module")
def venv(built: tuple[Path, Path]) -> Path:
    """The fresh virtualenv the wheel is installed in."""
    return built[1]


def pip(venv: Path) -> list[str]:
    """The project's own pip, working on ``venv`` (which needs none of its own)."""
    return [
        sys.executable,
        "-m",
        "pip",
        "--quiet",
        "--disable-pip-version-check",
        "--python",
        str(venv / "bin" / "python"),
    ]


def run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to completion; fail with its output unless it succeeds."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, cwd=cwd)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def isolated(venv: Path, *args: str) -> list[str]:
    """The virtualenv's Python in isolated mode: neither the checkout nor ``PYTHON*`` variables on its path."""
    return [str(venv / "bin" / "python"), "-I", *args]


@pytest.fixture(autouse=True)
def keep_the_demo_logins(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wheel's migrate and gateway use the stack's database: like the stack's gateway they keep the demo logins
    (with ``RV_GATEWAY_DEMO_USERS`` false, its default, they would remove them)."""
    monkeypatch.setenv("RV_GATEWAY_DEMO_USERS", "true")


def test_the_wheel_holds_the_runtime_packages_with_every_file_they_read(source: Path, wheel: Path) -> None:
    names = {name for name in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in name}
    assert {name.split("/")[0] for name in names} == RUNTIME_PACKAGES
    # Every file of theirs: code, migrations, the dashboard's templates and htmx, the JSON Schemas; no docs, no caches.
    files = {
        path.relative_to(source).as_posix()
        for package in RUNTIME_PACKAGES
        for path in (source / package).rglob("*")
        if path.is_file() and path.suffix != ".md"
    }
    assert names == files
    for service in SERVICE_NAMES:
        assert {f"{service}/migrations/env.py", f"{service}/migrations/versions/0001_initial.py"} <= names


def test_the_fresh_virtualenv_has_the_runtime_dependencies_only(venv: Path, tmp_path: Path) -> None:
    run([*pip(venv), "check"])
    frozen = run([*pip(venv), "freeze", "--all"]).stdout.splitlines()
    installed = {canonicalize_name(line.split("==")[0]) for line in frozen if "==" in line}
    assert installed & DEV_TOOLS == set()
    for checkout_only in ("infra", "bench", "tools", "tests"):
        done = subprocess.run(
            isolated(venv, "-c", f"import {checkout_only}"), check=False, capture_output=True, cwd=tmp_path
        )
        assert done.returncode == 1 and b"ModuleNotFoundError" in done.stderr, checkout_only


def test_the_wheel_migrates_and_provisions_topics(venv: Path, tmp_path: Path) -> None:
    migrated = run(isolated(venv, "-m", "plumbing.provision", "migrate"), cwd=tmp_path)
    # The stack's gateway seeded the demo logins at its start: nothing left to add.
    assert migrated.stdout.splitlines() == [f"{service.name}: migrated" for service in ALL_SERVICES]
    topics = run(isolated(venv, "-m", "plumbing.provision", "topics"), cwd=tmp_path)
    assert topics.stdout.strip() == "created: nothing (all topics exist)"
    assert "sagas" in run([str(venv / "bin" / "retrovault"), "--help"], cwd=tmp_path).stdout


@pytest.fixture
def wheel_services(venv: Path, tmp_path: Path) -> Iterator[dict[str, int]]:
    """Every service started from the wheel beside the stack's own (more members of the same groups), each on a
    free port; stopped with SIGTERM afterwards, as an orchestrator stops a pod."""
    ports = {service: free_port() for service in SERVICE_NAMES}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for service, port in ports.items():
        env = {
            **{k: v for k, v in os.environ.items() if k != "RV_INSTANCE_ID"},
            f"RV_{service.upper()}_PORT": str(port),
            "RV_STRIPE_API_BASE": localstripe.api_base(),
        }
        log = (tmp_path / f"{service}.log").open("wb")
        processes[service] = subprocess.Popen(
            isolated(venv, "-m", service), cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield ports
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        exits = {service: process.wait(timeout=60) for service, process in processes.items()}
        # uvicorn re-raises the signal once it has shut down, so a graceful stop ends "killed by SIGTERM".
        graceful = dict.fromkeys(SERVICE_NAMES, -signal.SIGTERM)
        assert exits == graceful, {s: (tmp_path / f"{s}.log").read_text()[-2000:] for s in exits}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_every_service_starts_from_the_wheel_and_becomes_healthy(wheel_services: dict[str, int]) -> None:
    for service, port in wheel_services.items():
        wait_for(partial(healthy, port), timeout_s=90, what=f"{service} from the wheel to be healthy")
    dashboard = httpx.get(f"http://127.0.0.1:{wheel_services['coordinator']}/dashboard", timeout=10)
    assert dashboard.status_code == 200 and "htmx" in dashboard.text
