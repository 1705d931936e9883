"""compose.yaml brought up by testcontainers' Compose support, and the test helpers pointed at it.

The images are built beforehand (``make test-containers``: containers/test.sh); nothing is pulled or built
here. The helpers of tests/support.py and tests/faults/harness.py read ``RV_GATEWAY_PORT``, ``RV_PG_PORT``,
``RV_KAFKA_PORT`` and ``RV_STRIPE_PORT``: they are set to the ports Compose published on 127.0.0.1 (the gateway's
first replica), so the same invariant checks as the fault tests run against the containers. The other services
publish nothing: the test reaches them only through the gateway.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from testcontainers.compose import ComposeContainer, DockerCompose

from plumbing.services import GATEWAY

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = {
    "postgres": ("RV_PG_PORT", 5432),
    "kafka": ("RV_KAFKA_PORT", 19092),
    "localstripe": ("RV_STRIPE_PORT", 8420),
    GATEWAY.name: ("RV_GATEWAY_PORT", GATEWAY.port),
}
"""Each published container port (compose.yaml) and the variable the test helpers read it from."""


class System:
    """The running Compose project: its containers by service, and ``docker`` commands on them."""

    def __init__(self, compose: DockerCompose) -> None:
        self.compose = compose

    def replicas(self, service: str) -> list[ComposeContainer]:
        """The service's running containers, by replica number (``<project>-<service>-<n>``)."""
        found = [c for c in self.compose.get_containers() if c.Service == service]
        return sorted(found, key=lambda c: int(str(c.Name).rsplit("-", 1)[1]))

    def published_port(self, service: str, port: int, replica: int = 0) -> int:
        """The host port (on 127.0.0.1) of one replica's ``port`` (the first by default)."""
        publisher = self.replicas(service)[replica].get_publisher(by_port=port).normalize()
        assert publisher.URL == "127.0.0.1", f"{service} is published on {publisher.URL}, not 127.0.0.1 only"
        return int(publisher.PublishedPort or 0)

    @staticmethod
    def docker(*args: str) -> str:
        """Run ``docker ARGS``; its output (``CalledProcessError`` when it fails)."""
        return subprocess.run(["docker", *args], check=True, capture_output=True, text=True, timeout=120).stdout


@pytest.fixture(scope="session")
def system() -> Iterator[System]:
    """compose.yaml up and healthy (``up --wait``), the helpers' ports pointed at it; down with its volumes after."""
    compose = DockerCompose(ROOT, compose_file_name="compose.yaml", wait=True)
    try:
        compose.start()
        running = System(compose)
        for service, (variable, port) in PUBLISHED.items():
            os.environ[variable] = str(running.published_port(service, port))
        yield running
    finally:
        if os.environ.get("RV_COMPOSE_LOGS"):
            Path(os.environ["RV_COMPOSE_LOGS"]).write_text(compose.get_logs()[0])
        compose.stop(down=True)
