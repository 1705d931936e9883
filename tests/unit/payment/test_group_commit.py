"""Group commit: changes asked for together share one transaction; each caller gets its own result, once
committed; a failed transaction fails every change in it; changes asked for during one go in the next."""

from __future__ import annotations

import asyncio
import threading

import pytest

from payment.adapters.group_commit import GroupCommit
from plumbing.errors import RetryLater


class Transactions:
    """Applies each group of changes on a worker thread, as the store does; notes the groups."""

    def __init__(self, fail: bool = False) -> None:
        self.groups: list[list[int]] = []
        self.threads: set[str] = set()
        self.fail = fail
        self.release = threading.Event()
        self.release.set()

    def apply(self, changes: list[int]) -> list[int]:
        self.threads.add(threading.current_thread().name)
        assert self.release.wait(5)
        self.groups.append(changes)
        if self.fail:
            raise RuntimeError("the database refused the transaction")
        return [change * 10 for change in changes]


def test_changes_asked_for_together_share_one_transaction() -> None:
    transactions = Transactions()

    async def scenario() -> list[int]:
        commit = GroupCommit(transactions.apply)
        return await asyncio.gather(*(commit.submit(n) for n in range(300)))

    assert asyncio.run(scenario()) == [n * 10 for n in range(300)]
    assert transactions.groups == [list(range(300))]
    assert threading.current_thread().name not in transactions.threads  # the loop is never blocked on it


def test_a_failed_transaction_fails_every_change_in_it() -> None:
    async def scenario() -> list[int | BaseException]:
        commit = GroupCommit(Transactions(fail=True).apply)
        return await asyncio.gather(*(commit.submit(n) for n in range(3)), return_exceptions=True)

    outcomes = asyncio.run(scenario())
    assert [str(outcome) for outcome in outcomes] == ["the database refused the transaction"] * 3


def test_changes_asked_for_during_a_transaction_go_in_the_next_one() -> None:
    transactions = Transactions()
    transactions.release.clear()

    async def scenario() -> list[int]:
        commit = GroupCommit(transactions.apply)
        first = asyncio.ensure_future(asyncio.gather(commit.submit(1), commit.submit(2)))
        await asyncio.sleep(0)  # the first transaction is under way (held on its thread)
        later = asyncio.ensure_future(asyncio.gather(commit.submit(3), commit.submit(4)))
        await asyncio.sleep(0)
        transactions.release.set()
        return [*await first, *await later]

    assert asyncio.run(scenario()) == [10, 20, 30, 40]
    assert transactions.groups == [[1, 2], [3, 4]]


def test_a_caller_resumes_only_once_its_change_committed() -> None:
    transactions = Transactions()
    transactions.release.clear()

    async def scenario() -> None:
        commit = GroupCommit(transactions.apply)
        change = asyncio.ensure_future(commit.submit(7))
        for _ in range(3):  # the transaction is under way, held on its thread: the caller waits
            await asyncio.sleep(0)
        assert not change.done() and transactions.threads
        transactions.release.set()
        assert await change == 70

    asyncio.run(scenario())


@pytest.mark.parametrize("count", [1, 2])
def test_one_group_per_burst(count: int) -> None:
    transactions = Transactions()

    async def scenario() -> None:
        commit = GroupCommit(transactions.apply)
        for _ in range(count):
            await asyncio.gather(commit.submit(1), commit.submit(2))

    asyncio.run(scenario())
    assert transactions.groups == [[1, 2]] * count


def test_a_cancelled_writer_leaves_no_caller_waiting() -> None:
    transactions = Transactions()
    transactions.release.clear()

    async def scenario() -> list[int | BaseException]:
        commit = GroupCommit(transactions.apply)
        callers = [asyncio.ensure_future(commit.submit(n)) for n in range(2)]
        async with asyncio.timeout(5):
            while not transactions.threads:  # until the first group is being applied
                await asyncio.sleep(0)
        later = asyncio.ensure_future(commit.submit(2))
        await asyncio.sleep(0)
        assert commit._writer is not None
        commit._writer.cancel()
        outcomes = await asyncio.wait_for(asyncio.gather(*callers, later, return_exceptions=True), 5)
        transactions.release.set()
        return outcomes

    outcomes = asyncio.run(scenario())
    assert [type(outcome) for outcome in outcomes] == [RetryLater] * 3
    assert [str(outcome) for outcome in outcomes] == ["group commit stopped: CancelledError"] * 3
