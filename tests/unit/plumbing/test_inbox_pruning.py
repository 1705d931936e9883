"""The inbox pruner: bounded batches until none is left, one transaction each; outages wait for the next round."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from plumbing.configuration import ConfigurationError
from plumbing.db import messaging_tables
from plumbing.inbox_pruning import InboxPruner, Retention
from plumbing.settings import ServiceSettings

_, INBOX = messaging_tables(sa.MetaData())


class FakeEngine:
    """Answers each prune ``DELETE`` with the next row count (then 0); counts transactions and what each was asked."""

    def __init__(self, counts: list[int | Exception]) -> None:
        self.counts = counts
        self.transactions = 0
        self.asked: list[dict[str, Any]] = []

    @contextmanager
    def begin(self) -> Iterator[Any]:
        self.transactions += 1
        yield self

    def execute(self, _statement: Any, params: dict[str, Any]) -> Any:
        self.asked.append(params)
        count = self.counts.pop(0) if self.counts else 0
        if isinstance(count, Exception):
            raise count
        return SimpleNamespace(rowcount=count)


def pruner(engine: FakeEngine, **retention: Any) -> InboxPruner:
    return InboxPruner(engine, INBOX, Retention(**retention))  # type: ignore[arg-type]


def run_until_pruned(work: InboxPruner, rows: int) -> None:
    """Run the worker on a thread until it has pruned ``rows`` rows (or 5 s have passed), then stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=work.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 5.0
    try:
        while work.pruned < rows and time.monotonic() < deadline:
            stop.wait(0.01)  # poll interval; the deadline bounds the wait
    finally:
        stop.set()
        thread.join(5)


def test_a_prune_deletes_bounded_batches_until_a_batch_comes_back_short() -> None:
    engine = FakeEngine([3, 3, 1])
    assert pruner(engine, keep_s=60.0, batch=3).prune() == 7
    assert engine.transactions == 3
    assert engine.asked == [{"age_s": 60.0, "limit": 3}] * 3


def test_nothing_old_enough_costs_one_statement() -> None:
    engine = FakeEngine([0])
    assert pruner(engine).prune() == 0
    assert engine.transactions == 1


def test_the_worker_waits_a_period_before_its_first_prune_and_survives_an_outage() -> None:
    outage = sa.exc.OperationalError("DELETE", {}, psycopg.OperationalError("connection refused"))
    engine = FakeEngine([outage, 2])
    work = pruner(engine, every_s=0.01, batch=5)
    run_until_pruned(work, 2)
    assert work.pruned == 2
    assert engine.counts == []


def test_a_failed_prune_is_logged_and_tried_again_at_the_next_period(caplog: pytest.LogCaptureFixture) -> None:
    timeout = sa.exc.OperationalError("DELETE", {}, psycopg.errors.QueryCanceled("canceling statement due to timeout"))
    engine = FakeEngine([timeout, 4])
    work = pruner(engine, every_s=0.01, batch=5)
    run_until_pruned(work, 4)
    assert (work.pruned, work.failed, engine.counts) == (4, 1, [])
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        "inbox pruning failed; next try in 0 s"
    ]


def test_a_bug_outside_the_database_is_not_swallowed() -> None:
    engine = FakeEngine([TypeError("not a row count")])
    stop = threading.Event()
    with pytest.raises(TypeError):
        pruner(engine, every_s=0.0).run(stop)


def test_the_retention_is_read_with_the_services_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RV_INBOX_RETENTION_S", "7200")
    settings = ServiceSettings.from_env("catalog")
    assert (settings.inbox_retention_s, settings.inbox_prune_every_s) == (7200.0, 300.0)


def test_a_retention_shorter_than_an_hour_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RV_INBOX_RETENTION_S", "3599")
    with pytest.raises(ConfigurationError) as raised:
        ServiceSettings.from_env("catalog")
    assert str(raised.value) == "RV_INBOX_RETENTION_S='3599': Input should be greater than or equal to 3600"
