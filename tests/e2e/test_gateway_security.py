"""The gateway's defences on the real stack: a login form posted from another site is refused, logins are
rate-limited per username, every answer (a page, an API answer, a proxied dashboard page) forbids framing, a
malformed ``X-Authenticated-Subject`` sent to a service is a 400, and the demo logins go when switched off."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import httpx

from plumbing.settings import service_url
from tests.support import api, gateway_client

SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
}
DEMO = "demo-customer, demo-customer-2, demo-operator"


def _gateway() -> httpx.Client:
    return httpx.Client(base_url=service_url("gateway"), timeout=30.0, follow_redirects=False)


def test_a_login_form_posted_from_another_site_sets_no_cookie() -> None:
    form = {"username": "demo-customer", "password": "retro-customer"}
    with _gateway() as client:
        for headers in ({"Origin": "https://evil.example"}, {}):
            refused = client.post("/login", data=form, headers=headers)
            assert (refused.status_code, refused.headers["content-type"]) == (403, "application/problem+json")
            assert "set-cookie" not in refused.headers
        ours = client.post("/login", data=form, headers={"Origin": service_url("gateway")})
        assert ours.status_code == 303 and ours.headers["set-cookie"].startswith("rv_session=")


def test_guessing_one_usernames_password_is_stopped_with_429() -> None:
    name = f"nobody-{secrets.token_hex(4)}"  # a name of its own: no other test's allowance is used
    with _gateway() as client:
        guesses = [client.post("/auth/token", json={"username": name, "password": f"guess-{n}"}) for n in range(10)]
        assert [g.status_code for g in guesses] == [401] * 10
        limited = client.post("/auth/token", json={"username": name, "password": "guess-10"})
        assert (limited.status_code, limited.headers["content-type"]) == (429, "application/problem+json")
        assert 1 <= int(limited.headers["retry-after"]) <= 12
        page = client.post(
            "/login", data={"username": name, "password": "x"}, headers={"Origin": service_url("gateway")}
        )
        assert page.status_code == 429 and "Too many login attempts" in page.text and "retry-after" in page.headers


def test_every_answer_forbids_framing_and_sniffing() -> None:
    operator = gateway_client("operator")
    answers = [
        _gateway().get("/"),
        _gateway().get("/api/products"),
        _gateway().get("/api/sagas"),  # 401
        operator.get("/dashboard", headers={"Accept": "text/html"}),  # the coordinator's page, proxied
    ]
    assert [a.status_code for a in answers] == [200, 200, 401, 200]
    for answer in answers:
        assert {name: answer.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS, answer.url


def test_a_service_refuses_a_malformed_authenticated_subject() -> None:
    refused = api("catalog").post(
        "/products/SNES-SMW/stock-adjustments",
        json={"delta": 1, "reason": "e2e"},
        headers={"X-Authenticated-Subject": "olga <script>"},
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "X-Authenticated-Subject"


def _provision(demo_users: str) -> str:
    env = {**os.environ, "RV_GATEWAY_DEMO_USERS": demo_users}
    command = [sys.executable, "-m", "plumbing.provision", "migrate", "gateway"]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_switched_off_the_demo_logins_are_removed_and_switched_on_added_again() -> None:
    try:
        assert _provision("false") == f"gateway: migrated\ngateway: removed demo logins {DEMO}\n"
        with _gateway() as client:
            gone = client.post("/auth/token", json={"username": "demo-operator", "password": "retro-operator"})
            assert gone.status_code == 401
    finally:
        restored = _provision("true")
    assert restored == f"gateway: migrated\ngateway: added demo logins {DEMO}\n"
