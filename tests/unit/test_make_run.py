"""``make run`` opens with where to shop and the demo logins to shop with."""

from __future__ import annotations

import pytest

from infra.stack import welcome
from plumbing.demo_logins import DEMO_LOGINS


def test_make_run_names_the_storefront_the_dashboard_and_every_demo_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RV_GATEWAY_PORT", "18100")
    lines = welcome().splitlines()
    assert lines[:2] == [
        "RetroVault's storefront: http://127.0.0.1:18100/",
        "Operators' dashboard:    http://127.0.0.1:18100/dashboard (log in as an operator)",
    ]
    assert lines[3:] == [f"  {login.username} / {login.password} ({login.role})" for login in DEMO_LOGINS]
    assert {login.role for login in DEMO_LOGINS} == {"customer", "operator"}
