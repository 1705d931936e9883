"""Operators' actions through the gateway say who did them: a saga replayed from the API or the dashboard, a
dead letter replayed or discarded (never both; one of a saga that moved on only when forced; a message refused
twice named by its letter's id), stock adjusted from the dashboard; customers may do none of it.

The replayable saga is made for real: payment is stopped, so an order's saga waits at ``charge_payment`` until
it is back. The dead letters are replies the coordinator cannot read that name a real saga (or none it knows).
"""

from __future__ import annotations

import getpass
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from contracts.topics import SAGA_REPLIES
from infra import kafka, services
from tests.support import api, gateway_client, place_order, settled_order, settled_saga, wait_for

CLI = [str(Path(sys.executable).with_name("retrovault"))]
OPERATOR = "demo-operator"
SKU = "GEN-SONIC2"


def _letter_of(saga_id: str) -> dict[str, Any]:
    """Put on the saga replies topic a reply the coordinator cannot read, naming the saga; its dead letter."""
    message_id = str(uuid.uuid4())
    value = json.dumps({"type": "NoSuchReply", "saga_id": saga_id, "message_id": message_id, "payload": {}})
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers()})
    producer.produce(SAGA_REPLIES.name, value.encode(), key=saga_id.encode(), headers=[("message_id", message_id)])
    producer.flush(10)
    return _letters_holding(message_id, 1)[0]


def _letters_holding(message_id: str, count: int) -> list[dict[str, Any]]:
    """The dead letters of the message, once there are ``count`` of them, oldest first."""

    def listed() -> list[dict[str, Any]] | None:
        letters = gateway_client().get("/api/dead-letters", params={"limit": 50}).json()
        holding = [x for x in letters if x["message_id"] == message_id]
        return holding if len(holding) >= count else None

    return wait_for(listed, timeout_s=30, what=f"{count} dead letter(s) of {message_id}")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], check=False, capture_output=True, text=True, timeout=120)


def _waiting_on_payment(order_id: str) -> dict[str, Any] | None:
    items = gateway_client().get("/api/sagas", params={"order_id": order_id}).json()["items"]
    return items[0] if items and items[0]["current_step"] == "charge_payment" else None


def _history(saga_id: str) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = gateway_client().get(f"/api/sagas/{saga_id}").json()["history"]
    return history


def _finished_saga(card: str = "pm_card_visa") -> str:
    order_id = place_order([(SKU, 1)], card, customer="operator-actions").json()["order_id"]
    assert settled_order(order_id)["status"] == ("APPROVED" if card == "pm_card_visa" else "REJECTED")
    return str(settled_saga(order_id)["saga_id"])


def test_a_saga_replayed_by_an_operator_through_the_gateway_names_them() -> None:
    services.stop("payment")
    try:
        order_id = place_order([(SKU, 1)], customer="operator-actions").json()["order_id"]
        waiting = wait_for(lambda: _waiting_on_payment(order_id), timeout_s=30, what="the saga to wait on payment")
        saga_id = waiting["saga_id"]
        replayed = gateway_client().post(f"/api/sagas/{saga_id}/replay")
        assert replayed.status_code == 200 and replayed.json()["command"] == "ChargePayment"
        page = gateway_client().post(f"/dashboard/sagas/{saga_id}/replay", follow_redirects=False)
        assert page.status_code == 303 and "?sent=" in page.headers["location"]
        assert "Replayed" in gateway_client().get(page.headers["location"]).text
    finally:
        services.start("payment")
        services.wait_healthy("payment")
    resent = [h for h in _history(saga_id) if h["detail"] == "replayed by operator"]
    assert [(h["kind"], h["action"], h["actor"]) for h in resent] == [("command_sent", "charge_payment", OPERATOR)] * 2
    assert settled_order(order_id)["status"] == "APPROVED"
    assert f'data-actor="{OPERATOR}"' in gateway_client().get(f"/dashboard/sagas/{saga_id}").text


def test_a_dead_letter_is_replayed_or_discarded_never_both_and_its_saga_says_by_whom() -> None:
    saga_id = _finished_saga()
    replayed, discarded = _letter_of(saga_id), _letter_of(saga_id)

    first = gateway_client().post(f"/api/dead-letters/{replayed['id']}/replay", params={"force": "true"})
    assert (first.status_code, first.json()["actor"], first.json()["replays"]) == (200, OPERATOR, 1)
    twice = gateway_client().post(f"/api/dead-letters/{replayed['id']}/replay", params={"force": "true"})
    assert twice.status_code == 409 and "again=true" in twice.json()["detail"]
    assert gateway_client().post(f"/api/dead-letters/{replayed['id']}/discard").status_code == 409

    form = gateway_client().post(f"/dashboard/dead-letters/{discarded['id']}/discard", follow_redirects=False)
    assert form.status_code == 303
    refused = gateway_client().post(f"/api/dead-letters/{discarded['id']}/replay", params={"again": "true"})
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"ident: dead letter {discarded['id']} was discarded by {OPERATOR}: it cannot be replayed"
    )

    letters = {x["id"]: x for x in gateway_client().get("/api/dead-letters", params={"limit": 50}).json()}
    assert letters[replayed["id"]]["disposition"]["disposition"] == "replayed"
    assert (
        letters[discarded["id"]]["disposition"]["disposition"],
        letters[discarded["id"]]["disposition"]["actor"],
    ) == (
        "discarded",
        OPERATOR,
    )
    notes = [(h["kind"], h["actor"]) for h in _history(saga_id) if h["kind"].startswith("dead_letter")]
    assert notes == [("dead_letter_replayed", OPERATOR), ("dead_letter_discarded", OPERATOR)]
    page = gateway_client().get("/dashboard/dead-letters").text
    assert f'data-letter-id="{discarded["id"]}"' in page and 'data-disposition="discarded"' in page


def test_a_letter_of_a_rolled_back_saga_is_replayed_only_when_forced_with_a_second_confirmation() -> None:
    saga_id = _finished_saga("pm_card_chargeCustomerFail")  # declined: the order rejected, its saga COMPENSATED
    api_letter, page_letter = _letter_of(saga_id), _letter_of(saga_id)
    why = f"belongs to saga {saga_id}, which is COMPENSATED: replay it only deliberately (force=true)"

    refused = gateway_client().post(f"/api/dead-letters/{api_letter['id']}/replay")
    assert (refused.status_code, refused.json()["detail"]) == (409, f"ident: dead letter {api_letter['id']} {why}")
    cli = _cli("dlq", "replay", api_letter["id"])
    assert cli.returncode == 1 and cli.stderr.count("\n") == 1 and "COMPENSATED" in cli.stderr, cli.stderr
    forced = _cli("dlq", "replay", "--force", api_letter["id"])
    assert forced.returncode == 0 and f"re-submitted dead letter {api_letter['id']}" in forced.stdout, forced.stderr

    confirmed = gateway_client().post(f"/dashboard/dead-letters/{page_letter['id']}/replay", follow_redirects=False)
    assert confirmed.status_code == 409 and why in confirmed.text and "Replay anyway" in confirmed.text
    action = f'action="/dashboard/dead-letters/{page_letter["id"]}/replay?force=1"'
    assert action in confirmed.text
    anyway = gateway_client().post(
        f"/dashboard/dead-letters/{page_letter['id']}/replay", params={"force": "1"}, follow_redirects=False
    )
    assert (anyway.status_code, anyway.headers["location"]) == (
        303,
        f"/dashboard/dead-letters?replayed={page_letter['id']}",
    )

    notes = [(h["actor"], h["detail"]) for h in _history(saga_id) if h["kind"] == "dead_letter_replayed"]
    forced_note = f"re-submitted to {SAGA_REPLIES.name} (forced: the saga was COMPENSATED)"
    assert notes == [
        (f"cli:{getpass.getuser()}", f"dead letter {api_letter['id']} {forced_note}"),
        (OPERATOR, f"dead letter {page_letter['id']} {forced_note}"),
    ]


def test_a_message_refused_twice_is_named_by_its_letters_id_not_its_message_id() -> None:
    first = _letter_of(str(uuid.uuid4()))  # a saga the coordinator does not know: no saga to check
    message_id = first["message_id"]
    assert gateway_client().post(f"/api/dead-letters/{message_id}/replay").status_code == 200
    old, new = _letters_holding(message_id, 2)  # the coordinator refused the replayed reply again
    assert old["id"] == first["id"] and old["disposition"]["disposition"] == "replayed"
    ambiguous = (
        f"ident: ambiguous: message id {message_id} is on 2 dead letters ({old['id']}, {new['id']}); "
        "name the letter by its id (partition-offset)"
    )
    for action, params in [("replay", {}), ("replay", {"again": "true"}), ("discard", {})]:
        response = gateway_client().post(f"/api/dead-letters/{message_id}/{action}", params=params)
        assert (response.status_code, response.json()["detail"]) == (409, ambiguous)
    cli = _cli("dlq", "discard", message_id)
    assert cli.returncode == 1 and "ambiguous" in cli.stderr and cli.stderr.count("\n") == 1, cli.stderr

    assert gateway_client().post(f"/api/dead-letters/{new['id']}/discard").status_code == 200
    listed = {x["id"]: x for x in gateway_client().get("/api/dead-letters", params={"limit": 50}).json()}
    assert [listed[x["id"]]["disposition"]["disposition"] for x in (old, new)] == ["replayed", "discarded"]


def test_the_cli_discards_a_dead_letter_as_its_user() -> None:
    letter = _letter_of(_finished_saga())
    run = _cli("dlq", "discard", letter["id"])
    assert run.returncode == 0 and f"discarded dead letter {letter['id']}" in run.stdout, run.stderr
    again = _cli("dlq", "replay", letter["id"])
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "409" in again.stderr
    listed = {x["id"]: x for x in api("coordinator").get("/dead-letters", params={"limit": 50}).json()}
    assert listed[letter["id"]]["disposition"]["actor"] == f"cli:{getpass.getuser()}"


def test_stock_adjusted_from_the_dashboard_is_recorded_in_catalog_with_the_operator() -> None:
    reason = f"dashboard delivery {uuid.uuid4().hex[:8]}"
    before = gateway_client().get(f"/api/products/{SKU}").json()["on_hand"]
    form = {"mode": "adjust", "amount": "2", "reason": reason}
    confirm = gateway_client().get(f"/dashboard/stock/{SKU}/change", params=form)
    assert confirm.status_code == 200 and "Confirm change" in confirm.text
    done = gateway_client().post(f"/dashboard/stock/{SKU}/change", data=form, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, f"/dashboard/stock?changed={SKU}")
    latest = gateway_client().get("/api/stock-adjustments", params={"sku": SKU, "limit": 5}).json()
    mine = [a for a in latest if a["reason"] == reason]
    assert [(a["delta"], a["on_hand_after"], a["adjusted_by"]) for a in mine] == [(2, before + 2, OPERATOR)]
    assert f'data-adjusted-by="{OPERATOR}"' in gateway_client().get(done.headers["location"]).text


def test_a_customer_may_do_none_of_it() -> None:
    customer = gateway_client("customer")
    saga_id, letter = uuid.uuid4(), "0-0"
    for method, path in [
        ("POST", f"/api/sagas/{saga_id}/replay"),
        ("POST", f"/api/dead-letters/{letter}/replay"),
        ("POST", f"/api/dead-letters/{letter}/discard"),
        ("POST", f"/api/products/{SKU}/stock-adjustments"),
        ("GET", "/dashboard/dead-letters"),
        ("GET", "/dashboard/stock"),
        ("POST", f"/dashboard/sagas/{saga_id}/replay"),
        ("POST", f"/dashboard/dead-letters/{letter}/discard"),
        ("POST", f"/dashboard/stock/{SKU}/change"),
    ]:
        response = customer.request(method, path, data={"mode": "adjust", "amount": "1", "reason": "x"})
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.headers["content-type"].startswith("application/problem+json")
