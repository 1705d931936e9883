"""The open-loop load generator: orders at a fixed offered rate, whatever the system's response time.

Request ``i`` is due at ``start + i / rate``; it is sent then (or as soon as the generator can) on its own
task, never waiting for earlier ones to be answered. Latency is measured from the time a request was
*due*, so a generator that falls behind cannot hide the system's slowness (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.httpclient import HttpClient

GOOD_CARD = "pm_card_visa"
DECLINED_CARD = "pm_card_chargeCustomerFail"
OUT_OF_STOCK_QUANTITY = 100


@dataclass(frozen=True)
class Mix:
    """What the orders look like: ~80% paid, ~10% declined, ~10% for more than the shelf holds."""

    stocked_skus: tuple[str, ...]
    scarce_sku: str
    declined_share: float = 0.10
    out_of_stock_share: float = 0.10

    def order(self, rng: random.Random) -> tuple[str, dict[str, Any]]:
        """The kind of the next order (``ok``, ``declined``, ``out_of_stock``) and its ``POST /orders`` body."""
        draw = rng.random()
        if draw < self.out_of_stock_share:
            kind, sku, quantity, card = "out_of_stock", self.scarce_sku, OUT_OF_STOCK_QUANTITY, GOOD_CARD
        elif draw < self.out_of_stock_share + self.declined_share:
            kind, sku, quantity, card = "declined", rng.choice(self.stocked_skus), 1, DECLINED_CARD
        else:
            kind, sku, quantity, card = "ok", rng.choice(self.stocked_skus), 1, GOOD_CARD
        body = {"customer_id": "bench", "items": [{"sku": sku, "quantity": quantity}], "payment_method": card}
        return kind, body


@dataclass
class Sent:
    """One order request: when it was due, sent and answered (wall-clock seconds), and the answer."""

    kind: str
    due: float
    sent: float = 0.0
    answered: float = 0.0
    status: int = 0
    """HTTP status; 0 for a transport error or time-out, -1 when the generator's in-flight limit was hit."""
    order_id: str | None = None


@dataclass
class LoadResult:
    """Every request of a run, and where the measurement window lies (after the warm-up)."""

    rate: float
    window_start: float
    window_end: float
    requests: list[Sent] = field(default_factory=list)
    max_lag_s: float = 0.0
    """How far behind schedule the generator ever was when sending a request."""
    connections: int = 0


Caller = tuple[str, str]
"""A simulated customer placing orders through the gateway: their ``customer_id`` and their bearer token."""

Progress = Callable[[float, LoadResult, int], None]
"""Called about once a second with (seconds since start, the run so far, requests in flight); must not block."""


async def run_open_loop(
    base_url: str,
    rate: float,
    warmup_s: float,
    duration_s: float,
    mix: Mix,
    *,
    seed: int = 1,
    max_in_flight: int = 2000,
    progress: Progress | None = None,
    path: str = "/orders",
    callers: tuple[Caller, ...] = (),
) -> LoadResult:
    """Offer ``rate`` orders per second for ``warmup_s + duration_s`` seconds to ``path``; wait for every answer.

    With ``callers``, order ``i`` is placed by caller ``i mod len(callers)``: for them, with their token.
    """
    loop = asyncio.get_running_loop()
    client = HttpClient(base_url, max_connections=max_in_flight)
    rng = random.Random(seed)
    start_mono, start_wall = loop.time(), time.time()
    total = round(rate * (warmup_s + duration_s))
    result = LoadResult(rate, start_wall + warmup_s, start_wall + warmup_s + duration_s)
    tasks: set[asyncio.Task[None]] = set()
    next_progress = 1.0
    try:
        for i in range(total):
            offset = i / rate
            delay = start_mono + offset - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            now = loop.time()
            if progress is not None and now - start_mono >= next_progress:
                next_progress += 1.0
                progress(now - start_mono, result, len(tasks))
            result.max_lag_s = max(result.max_lag_s, now - start_mono - offset)
            kind, body = mix.order(rng)
            request = Sent(kind, start_wall + offset)
            result.requests.append(request)
            if len(tasks) >= max_in_flight:
                request.status = -1
                continue
            headers = None
            if callers:
                customer_id, token = callers[i % len(callers)]
                body["customer_id"], headers = customer_id, {"Authorization": f"Bearer {token}"}
            task = asyncio.create_task(_place(client, path, body, headers, request))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        while tasks:
            await asyncio.wait(set(tasks), timeout=1.0)
            if progress is not None and tasks:
                progress(loop.time() - start_mono, result, len(tasks))
    finally:
        for task in tasks:
            task.cancel()
        await client.close()
    result.connections = client.opened
    return result


async def _place(
    client: HttpClient, path: str, body: dict[str, Any], headers: dict[str, str] | None, request: Sent
) -> None:
    request.sent = time.time()
    try:
        response = await client.request("POST", path, body, headers)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        request.answered = time.time()
        return
    request.answered = time.time()
    request.status = response.status
    if response.status == 202:
        request.order_id = str(response.json()["order_id"])
