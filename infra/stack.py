"""The whole local stack: its infrastructure components, the topics and the services.

``python -m infra.stack up|down|status|run|demo``. ``run`` is what ``make run`` does: bring everything up,
say where to shop and with which demo logins, place two demo orders through the gateway, print where they
ended, then wait for Ctrl-C and stop everything cleanly.
``--instances N`` (up, run) starts N instances of every service (ports: see ``infra.services``); ``down``
stops every instance it finds.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
import urllib.request
from typing import Any

from infra import kafka, localstripe, postgres, services, trace_sink
from infra.component import Component, describe
from infra.topics import raise_partitions
from plumbing.demo_logins import DEMO_LOGINS, demo_login
from plumbing.provision import ensure_topics

NEEDED: tuple[Component, ...] = (postgres, kafka, localstripe)
"""What the services need, in start order."""
COMPONENTS: tuple[Component, ...] = (*NEEDED, trace_sink)
"""Every component, in start order: the optional trace sink last, so the services find it running."""


def _step(message: str) -> None:
    print(f"==> {message}", flush=True)


def up(*, trace_sink_on: bool = False, instances: int = 1) -> None:
    """Start what is not running yet and wait until every part is healthy.

    ``trace_sink_on`` also starts the local trace sink before the services, so they export their spans to it;
    ``instances`` instances of every service are started.
    """
    if instances < 1:
        raise ValueError(f"--instances must be at least 1, not {instances}")
    for component in COMPONENTS if trace_sink_on else NEEDED:
        _step(f"{component.name} (state: {component.state_dir() or 'memory only'})")
        component.start()
    if created := ensure_topics(kafka.bootstrap_servers()):
        _step(f"created topics: {', '.join(created)}")
    # Our own stack follows the configured counts before any service starts (keys move to other partitions).
    if raised := raise_partitions(kafka.bootstrap_servers()):
        _step("raised partitions: " + ", ".join(f"{name} {now} -> {wanted}" for name, (now, wanted) in raised.items()))
    copies = [(name, k) for name in services.SERVICES for k in range(1, instances + 1)]
    for name, k in copies:
        _step(f"service {services.daemon_name(name, k)}")
        services.start(name, instance=k)
    for name, k in copies:
        services.wait_healthy(name, instance=k)
    _step("all services healthy: " + ", ".join(f"{services.daemon_name(n, k)} {services.url(n, k)}" for n, k in copies))
    _step(f"gateway {services.url(services.FRONT_DOOR)}")
    services.start(services.FRONT_DOOR)
    services.wait_healthy(services.FRONT_DOOR)


def down() -> None:
    """Stop the gateway and every instance of the services (gracefully), then every component in reverse start
    order."""
    services.stop(services.FRONT_DOOR)
    for name in reversed(services.SERVICES):
        for k in reversed(services.instances(name)):
            services.stop(name, instance=k)
    for component in reversed(COMPONENTS):
        component.stop()
    _step("stack stopped")


def status() -> bool:
    """Print whether each component runs and each service is healthy; True if all needed do."""
    for component in COMPONENTS:
        print(describe(component))
    copies = [(name, k) for name in services.SERVICES for k in sorted({1, *services.instances(name)})]
    copies.append((services.FRONT_DOOR, 1))
    healthy = {(name, k): services.health(name, instance=k) is not None for name, k in copies}
    for (name, k), ok in healthy.items():
        print(f"{services.daemon_name(name, k)}: {'healthy' if ok else 'down'} ({services.url(name, k)})")
    return all(c.is_running() for c in NEEDED) and all(healthy.values())


def _http(method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None) -> Any:
    """``method path`` at the gateway, as the holder of ``token``."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    url = f"{services.url(services.FRONT_DOOR)}{path}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _token(role: str) -> str:
    login = demo_login(role)
    answer = _http("POST", "/auth/token", {"username": login.username, "password": login.password})
    return str(answer["access_token"])


def place_and_follow(payment_method: str, token: str, sku: str = "SNES-SMW", timeout_s: float = 60.0) -> dict[str, Any]:
    """Place an order through the gateway as ``token``'s customer and poll it until it is decided; returns it."""
    body = {"items": [{"sku": sku, "quantity": 1}], "payment_method": payment_method}
    accepted = _http("POST", "/api/orders", body, token)
    deadline = time.monotonic() + timeout_s
    while True:
        order: dict[str, Any] = _http("GET", f"/api/orders/{accepted['order_id']}", token=token)
        if order["status"] != "PENDING" or time.monotonic() > deadline:
            return order
        time.sleep(0.1)


def demo() -> None:
    """Two orders of the demo customer through the gateway, one paid with a good card, one with a card that is
    declined; their sagas as the demo operator sees them."""
    customer, operator = _token("customer"), _token("operator")
    for label, method in (("good card", "pm_card_visa"), ("declined card", "pm_card_chargeCustomerFail")):
        order = place_and_follow(method, customer)
        page = _http("GET", f"/api/sagas?order_id={order['order_id']}", token=operator)
        sagas: list[dict[str, Any]] = page["items"]
        saga_state = sagas[0]["state"] if sagas else "none"
        reason = f" ({order['reason']})" if order.get("reason") else ""
        print(f"demo order with {label}: {order['order_id']} -> {order['status']}{reason}; saga {saga_state}")


def welcome() -> str:
    """Where to shop and the demo logins to do it with (what ``make run`` says first once the stack is up)."""
    front = services.url(services.FRONT_DOOR)
    lines = [
        f"RetroVault's storefront: {front}/",
        f"Operators' dashboard:    {front}/dashboard (log in as an operator)",
        "Demo logins (username / password):",
        *(f"  {login.username} / {login.password} ({login.role})" for login in DEMO_LOGINS),
    ]
    return "\n".join(lines)


def run(instances: int = 1) -> None:
    """Up (``instances`` of every service), where to shop, demo, then wait for Ctrl-C (or SIGTERM) and stop
    everything."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        up(instances=instances)
        print(welcome(), flush=True)
        demo()
        print(
            f"RetroVault is running: shop at {services.url(services.FRONT_DOOR)}/ - press Ctrl-C to stop.", flush=True
        )
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        down()


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; ``status`` exits 3 unless everything runs."""
    parser = argparse.ArgumentParser(prog="python -m infra.stack")
    parser.add_argument("command", choices=["up", "down", "status", "run", "demo"])
    parser.add_argument("--trace-sink", action="store_true", help="up: also start the local OTLP trace sink")
    parser.add_argument("--instances", type=int, default=1, help="up, run: instances of every service (default 1)")
    args = parser.parse_args(argv)
    if args.instances < 1:
        parser.error("--instances must be at least 1")
    try:
        if args.command == "up":
            up(trace_sink_on=args.trace_sink, instances=args.instances)
        elif args.command == "status":
            return 0 if status() else 3
        elif args.command == "run":
            run(args.instances)
        else:
            {"down": down, "demo": demo}[args.command]()
    except Exception as error:
        print(f"stack: error: {str(error).splitlines()[0] if str(error) else error!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
