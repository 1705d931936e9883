"""The peer: RetroVault's CreateOrder saga written as one DBOS Transact workflow, served the same way.

``python -m bench.peer_dbos --port P [--gateway stripe|instant|latency]`` serves ``POST /orders`` (the same body
as the orders service) with Litestar on uvicorn, like the services. Each order starts a durable workflow
(id = order id) on the benchmark's own database: reserve stock (a transaction that also records the
order), charge through the same gateway as the payment service (two checkpointed steps: create the
PaymentIntent, confirm it), approve; on a decline, release the stock and reject the order; out of
stock, reject. ``peer_orders.finished_at`` records when the saga reached its terminal state.

The workflow and its steps are coroutines (DBOS's async workflows), as a DBOS user would write I/O-bound
work: a charge waiting on the gateway holds no thread, as in the payment service; the transactions run on
worker threads. Several copies may serve one port (``--reuse-port``, SO_REUSEPORT: one process per core).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import uuid
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
import uvicorn
from dbos import DBOS, DBOSConfig, SetWorkflowID, SQLAlchemyDatasource
from litestar import Litestar, Request, Response, get, post

from bench.peer import SCHEMA_SQL
from payment.domain.payments import Payment
from payment.ports import PaymentGateway


class _Runtime:
    """What main() sets up: the DBOS datasource, the gateway, and the registered functions."""

    db: SQLAlchemyDatasource | None = None
    gateway: PaymentGateway | None = None
    functions: dict[str, Any] = {}


def _ds() -> SQLAlchemyDatasource:
    assert _Runtime.db is not None, "the DBOS datasource is created in main()"
    return _Runtime.db


def _gw() -> PaymentGateway:
    assert _Runtime.gateway is not None, "the gateway is chosen in main()"
    return _Runtime.gateway


class _Line(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    quantity: Annotated[int, msgspec.Meta(ge=1, le=100)]


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    customer_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    items: Annotated[list[_Line], msgspec.Meta(min_length=1, max_length=1)]
    payment_method: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


def _session() -> Any:
    return _ds().sql_session()


def reserve_stock(order: dict[str, Any]) -> bool:
    """Record the order and take its stock, or record it as out of stock; True if reserved."""
    session = _session()
    row = session.execute(
        sa.text("SELECT price_cents, stock FROM peer_products WHERE sku = :sku FOR UPDATE"), {"sku": order["sku"]}
    ).first()
    reserved = row is not None and row.stock >= order["quantity"]
    if reserved:
        session.execute(
            sa.text("UPDATE peer_products SET stock = stock - :q WHERE sku = :sku"),
            {"q": order["quantity"], "sku": order["sku"]},
        )
    session.execute(
        sa.text(
            "INSERT INTO peer_orders (order_id, customer_id, sku, quantity, total_cents, payment_method, state) "
            "VALUES (:order_id, :customer_id, :sku, :quantity, :total_cents, :payment_method, 'RUNNING') "
            "ON CONFLICT (order_id) DO NOTHING"
        ),
        order,
    )
    return reserved


def release_stock(order: dict[str, Any]) -> None:
    """Give the order's stock back."""
    _session().execute(
        sa.text("UPDATE peer_products SET stock = stock + :q WHERE sku = :sku"),
        {"q": order["quantity"], "sku": order["sku"]},
    )


def finish_order(order_id: str, state: str, reason: str | None) -> None:
    """Approve (COMPLETED) or reject (COMPENSATED) the order: the saga's terminal state."""
    _session().execute(
        sa.text("UPDATE peer_orders SET state = :state, reason = :reason, finished_at = now() WHERE order_id = :id"),
        {"state": state, "reason": reason, "id": order_id},
    )


def _payment(order: dict[str, Any]) -> Payment:
    return Payment(
        order_id=order["order_id"],
        idempotency_key=f"peer-{order['order_id']}",
        amount_cents=order["total_cents"],
        currency="usd",
        payment_method=order["payment_method"],
    )


async def create_intent(order: dict[str, Any]) -> str:
    """Create the unconfirmed PaymentIntent (a checkpointed step)."""
    return await _gw().create_intent(_payment(order))


async def confirm_payment(intent_id: str, order: dict[str, Any]) -> list[Any]:
    """Confirm (charge) it: [succeeded, reason] (a checkpointed step)."""
    outcome = await _gw().confirm(intent_id, _payment(order))
    return [outcome.succeeded, outcome.reason]


async def create_order(order: dict[str, Any]) -> str:
    """The saga: reserve, charge, approve; release and reject on a decline; reject when out of stock."""
    if not await _run(reserve_stock, order):
        await _run(finish_order, order["order_id"], "COMPENSATED", "out of stock")
        return "COMPENSATED"
    intent_id = await _tx(create_intent)(order)
    succeeded, reason = await _tx(confirm_payment)(intent_id, order)
    if succeeded:
        await _run(finish_order, order["order_id"], "COMPLETED", None)
        return "COMPLETED"
    await _run(release_stock, order)
    await _run(finish_order, order["order_id"], "COMPENSATED", reason or "declined")
    return "COMPENSATED"


async def _run(transaction: Any, *args: Any) -> Any:
    """A DBOS transaction (synchronous, on the datasource's engine) on a worker thread, as DBOS advises for
    sync functions called from async workflows; the workflow's context goes with it."""
    return await asyncio.to_thread(_tx(transaction), *args)


def _tx(func: Any) -> Any:
    """The DBOS-registered version of a transaction or step function."""
    return _Runtime.functions[func.__name__]


def register() -> Any:
    """Register the transactions, steps and the workflow with DBOS, once, after the datasource exists."""
    transactions: tuple[Any, ...] = (reserve_stock, release_stock, finish_order)
    for func in transactions:
        _Runtime.functions[func.__name__] = _ds().transaction(isolation_level="READ COMMITTED")(func)
    steps: tuple[Any, ...] = (create_intent, confirm_payment)
    for func in steps:
        _Runtime.functions[func.__name__] = DBOS.step(retries_allowed=False)(func)
    return DBOS.workflow()(create_order)


@post("/orders", status_code=202)
async def place_order(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    """Price the order and start its workflow; 202 once the workflow is durably recorded."""
    body = msgspec.json.decode(await request.body(), type=_Body)
    line = body.items[0]
    price = request.app.state.prices.get(line.sku)
    if price is None:
        return Response({"error": f"unknown sku {line.sku!r}"}, status_code=400)
    order_id = str(uuid.uuid4())
    order = {
        "order_id": order_id,
        "customer_id": body.customer_id,
        "sku": line.sku,
        "quantity": line.quantity,
        "total_cents": price * line.quantity,
        "payment_method": body.payment_method,
    }
    with SetWorkflowID(order_id):
        await DBOS.start_workflow_async(request.app.state.workflow, order)
    return Response({"order_id": order_id, "status": "PENDING"}, status_code=202)


@get("/health")
async def health() -> dict[str, str]:
    """Up."""
    return {"status": "ok"}


def _gateway_for(kind: str, latency_ms: int) -> PaymentGateway:
    """The gateway the payment service would use in the same mode (see ``payment.bootstrap``)."""
    from payment.adapters.simulated_gateway import SimulatedGateway

    if kind == "instant":
        return SimulatedGateway()
    if kind == "latency":
        return SimulatedGateway(latency_s=latency_ms / 1000)
    from payment.adapters.stripe_gateway import StripeGateway
    from payment.settings import StripeSettings

    settings = StripeSettings.from_env()
    return StripeGateway(settings.api_key, settings.api_base)


def main(argv: list[str] | None = None) -> None:
    """Create the schema, launch DBOS and serve until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.peer_dbos")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--gateway", choices=["stripe", "instant", "latency"], default="stripe")
    parser.add_argument("--latency-ms", type=int, default=200, help="the latency gateway's answer time per call")
    parser.add_argument("--reuse-port", action="store_true", help="share the port with other copies (SO_REUSEPORT)")
    parser.add_argument("--database-url", default=os.environ.get("RV_BENCH_DATABASE_URL", ""))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    url: str = args.database_url
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in filter(str.strip, SCHEMA_SQL.split(";")):
            conn.execute(sa.text(statement))
        prices = {str(sku): int(p) for sku, p in conn.execute(sa.text("SELECT sku, price_cents FROM peer_products"))}
    engine.dispose()
    config: DBOSConfig = {
        "name": "rv-bench-peer",
        "system_database_url": url,
        "dbos_system_schema": "dbos_sys",
        "sys_db_pool_size": 20,
        "log_level": "WARNING",
    }
    DBOS(config=config)
    _Runtime.db = SQLAlchemyDatasource.create(url, engine_kwargs={"pool_size": 20, "max_overflow": 10})
    _Runtime.gateway = _gateway_for(args.gateway, args.latency_ms)
    workflow = register()
    DBOS.launch()
    app = Litestar(route_handlers=[place_order, health], logging_config=None)
    app.state.prices = prices
    app.state.workflow = workflow
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    try:
        server.run(sockets=[_listening(args.port, reuse_port=args.reuse_port)])
    finally:
        DBOS.destroy()


def _listening(port: int, *, reuse_port: bool) -> socket.socket:
    """A socket listening on 127.0.0.1:``port``; with ``reuse_port`` the kernel spreads connections over
    every process listening on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    return sock


if __name__ == "__main__":
    main()
