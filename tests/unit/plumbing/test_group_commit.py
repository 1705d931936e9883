"""Group commit: concurrent callers share one run of ``together``, each gets its own outcome, and a failing
group falls back to one at a time. Deterministic: a group closes when it is full (the window is a minute)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry import context as otel_context

from plumbing.group_commit import GroupCommit, ItemScope
from tests.support import wait_for

MINUTE = 60.0


class Recorder:
    """``together`` and ``alone`` that record what they were given; ``fail`` makes ``together`` raise."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.groups: list[list[int]] = []
        self.alone_calls: list[int] = []
        self.contexts: dict[int, object] = {}
        """Each item's trace context value ``caller`` inside its scope."""
        self.fail = fail
        self._lock = threading.Lock()

    def together(self, items: list[int], scope: ItemScope) -> Sequence[str | Exception]:
        with self._lock:
            self.groups.append(list(items))
        if self.fail is not None:
            raise self.fail
        for item in items:
            with scope(item):
                self.contexts[item] = otel_context.get_value("caller")
        return [ValueError(f"bad {i}") if i < 0 else f"done {i}" for i in items]

    def alone(self, item: int) -> str:
        with self._lock:
            self.alone_calls.append(item)
        if item < 0:
            raise ValueError(f"bad {item}")
        return f"alone {item}"


def committer(
    recorder: Recorder, *, size: int, window_s: float = MINUTE, alone_after: bool = True
) -> GroupCommit[int, str]:
    return GroupCommit(
        name="test",
        together=recorder.together,
        alone=recorder.alone,
        alone_after=lambda _error: alone_after,
        window_s=window_s,
        max_size=size,
    )


def submit_all(group: GroupCommit[int, str], items: list[int]) -> list[str | BaseException]:
    def one(item: int) -> str | BaseException:
        token = otel_context.attach(otel_context.set_value("caller", f"caller of {item}"))
        try:
            return group.submit(item)
        except BaseException as error:
            return error
        finally:
            otel_context.detach(token)

    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(one, items))


def described(outcomes: list[str | BaseException]) -> list[str]:
    return [o if isinstance(o, str) else f"{type(o).__name__}: {o}" for o in outcomes]


def test_concurrent_callers_share_one_run_and_each_gets_its_own_outcome() -> None:
    recorder = Recorder()
    outcomes = submit_all(committer(recorder, size=5), [1, 2, -3, 4, 5])
    assert len(recorder.groups) == 1 and sorted(recorder.groups[0]) == [-3, 1, 2, 4, 5]
    assert described(outcomes) == ["done 1", "done 2", "ValueError: bad -3", "done 4", "done 5"]
    assert recorder.alone_calls == []
    # each item's work ran in its own caller's trace context, not the leader's
    assert recorder.contexts == {i: f"caller of {i}" for i in (1, 2, -3, 4, 5)}


def test_a_full_group_closes_and_the_next_callers_form_another() -> None:
    recorder = Recorder()
    outcomes = submit_all(committer(recorder, size=3), [1, 2, 3, 4, 5, 6])
    assert sorted(len(g) for g in recorder.groups) == [3, 3]
    assert sorted(i for g in recorder.groups for i in g) == [1, 2, 3, 4, 5, 6]
    assert outcomes == [f"done {i}" for i in range(1, 7)]


def test_a_failed_group_falls_back_to_one_at_a_time() -> None:
    recorder = Recorder(fail=RuntimeError("deadlock"))
    outcomes = submit_all(committer(recorder, size=3), [1, -2, 3])
    assert len(recorder.groups) == 1
    assert sorted(recorder.alone_calls) == [-2, 1, 3]
    assert described(outcomes) == ["alone 1", "ValueError: bad -2", "alone 3"]


def test_a_failure_that_leaves_the_commit_in_doubt_is_every_members_answer() -> None:
    recorder = Recorder(fail=ConnectionError("lost while committing"))
    outcomes = submit_all(committer(recorder, size=2, alone_after=False), [1, 2])
    assert recorder.alone_calls == []
    assert described(outcomes) == ["ConnectionError: lost while committing"] * 2


@pytest.mark.parametrize("window_s", [0.0, 0.001])
def test_a_caller_alone_in_its_window_runs_alone(window_s: float) -> None:
    recorder = Recorder()
    group = committer(recorder, size=10, window_s=window_s)
    assert group.submit(7) == "alone 7"
    with pytest.raises(ValueError, match="bad -1"):
        group.submit(-1)
    assert (recorder.groups, recorder.alone_calls) == ([], [7, -1])


def test_callers_arriving_while_a_group_runs_share_the_next_one_without_a_window() -> None:
    recorder = Recorder()
    started, release = threading.Event(), threading.Event()

    def first_holds_its_transaction(item: int) -> str:
        started.set()
        assert release.wait(MINUTE)
        return recorder.alone(item)

    group: GroupCommit[int, str] = GroupCommit(
        name="test",
        together=recorder.together,
        alone=first_holds_its_transaction,
        alone_after=lambda _error: True,
        window_s=0.0,
    )
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(group.submit, 1)
        assert started.wait(MINUTE)
        rest = [pool.submit(group.submit, i) for i in (2, 3, 4)]
        wait_for(lambda: group.waiting == 3, timeout_s=MINUTE, what="three callers waiting for the next group")
        release.set()
        outcomes = [first.result(MINUTE)] + [r.result(MINUTE) for r in rest]
    assert recorder.alone_calls == [1]
    assert [sorted(g) for g in recorder.groups] == [[2, 3, 4]]
    assert outcomes == ["alone 1", "done 2", "done 3", "done 4"]
