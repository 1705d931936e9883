"""A service started with a setting that does not fit ends at once with one line naming the variable and the
form it expects, and a non-zero status: no traceback, nothing half-started."""

from __future__ import annotations

import os
import subprocess
import sys

from infra.state import REPO_ROOT


def start(service: str, **environment: str | None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <service>`` with ``environment`` applied (None removes a variable); it must end by itself."""
    env = {**os.environ, f"RV_{service.upper()}_PORT": "1"}  # never the running service's port
    for name, value in environment.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    command = [sys.executable, "-m", service]
    return subprocess.run(command, check=False, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)


def test_a_bad_batch_size_ends_the_service_with_one_line() -> None:
    done = start("catalog", RV_BATCH_SIZE="lots")
    assert (done.returncode, done.stderr) == (
        2,
        "configuration error: RV_BATCH_SIZE='lots': Input should be a valid integer, unable to parse string as an "
        "integer\n",
    )


def test_payment_with_the_emulators_key_and_no_emulator_url_does_not_start() -> None:
    done = start("payment", RV_STRIPE_API_KEY=None, RV_STRIPE_API_BASE=None)
    assert (done.returncode, done.stderr) == (
        2,
        "configuration error: RV_STRIPE_API_KEY is the emulator's key (sk_test_localstripe) but RV_STRIPE_API_BASE "
        "is not set: set RV_STRIPE_API_BASE to the emulator's URL, or RV_STRIPE_API_KEY to a Stripe key\n",
    )
