"""The container image's health check: ``python -m plumbing.healthcheck`` exits 0 when the service running in
this container answers ``GET /health`` with 200 on 127.0.0.1, else 1 (no curl in the image).

One image runs any of the services, so it asks each service's port (``RV_<SERVICE>_PORT`` or its default);
a container runs one service, and the others' ports refuse at once.
"""

from __future__ import annotations

import os
import sys
import urllib.request

from plumbing.services import ALL_SERVICES


def healthy(port: int, timeout_s: float = 3.0) -> bool:
    """True when ``http://127.0.0.1:<port>/health`` answers 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=timeout_s) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def main() -> int:
    """Exit status 0 if the container's service is healthy, else 1."""
    ports = [int(os.environ.get(f"RV_{s.name.upper()}_PORT", s.port)) for s in ALL_SERVICES]
    return 0 if any(healthy(port) for port in ports) else 1


if __name__ == "__main__":
    sys.exit(main())
