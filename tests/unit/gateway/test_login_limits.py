"""``POST /auth/token`` under load: a 429 problem with ``Retry-After`` past the login limits, and never more than
``password_checks`` password hashes at once however many logins arrive together."""

from __future__ import annotations

import threading

import anyio
import httpx

from gateway.entrypoints.http import create_app
from tests.unit.gateway.fakes import Clock, PlainPasswords, front_door, gateway_on_fakes


def test_too_many_token_requests_are_a_429_problem_with_retry_after() -> None:
    with front_door(logins=2, per_minute=6.0) as door:
        wrong = {"username": "ada", "password": "guess"}
        assert [door.client.post("/auth/token", json=wrong).status_code for _ in range(2)] == [401, 401]
        limited = door.client.post("/auth/token", json={"username": "ada", "password": "ada-password"})
        assert (limited.status_code, limited.headers["content-type"]) == (429, "application/problem+json")
        assert limited.headers["retry-after"] == "10"
        assert limited.json()["detail"] == "too many logins: try again in 10 seconds"
        door.clock.now += 10
        assert door.client.post("/auth/token", json={"username": "ada", "password": "ada-password"}).status_code == 200


class HeldPasswords(PlainPasswords):
    """Plain passwords whose checks wait for ``release``, counting how many run at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.running = self.most = 0
        self._lock = threading.Lock()

    def verify(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.release.wait(timeout=30)
        with self._lock:
            self.running -= 1
        return super().verify(password_hash, password)


def test_at_most_four_password_checks_run_at_once() -> None:
    passwords = HeldPasswords()
    gateway = gateway_on_fakes(Clock(), passwords=passwords)
    transport = httpx.ASGITransport(app=create_app(gateway, None))  # type: ignore[arg-type]  # httpx types ASGI apps loosely
    statuses: list[int] = []

    async def ten_logins() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:

            async def log_in() -> None:
                answer = await client.post("/auth/token", json={"username": "ada", "password": "ada-password"})
                statuses.append(answer.status_code)

            async def release_when_all_arrived() -> None:
                with anyio.fail_after(10):
                    while gateway.password_checks.statistics().tasks_waiting < 6:
                        await anyio.sleep(0.01)  # poll interval; fail_after bounds the wait
                assert (passwords.running, gateway.password_checks.borrowed_tokens) == (4, 4)
                passwords.release.set()

            async with anyio.create_task_group() as group:
                for _ in range(10):
                    group.start_soon(log_in)
                group.start_soon(release_when_all_arrived)

    anyio.run(ten_logins)
    assert (statuses, passwords.most, passwords.running) == ([200] * 10, 4, 0)
