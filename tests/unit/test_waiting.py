"""The test kit's one poll-until-done loop."""

from __future__ import annotations

import pytest

from salt_p2pdist.testing.waiting import WaitTimeout, wait_for


def test_returns_the_first_true_value_the_check_gives() -> None:
    answers = iter([None, [], {"state": "complete"}, "later"])
    assert wait_for("a status", lambda: next(answers), timeout=60, every=0) == {"state": "complete"}


def test_names_what_it_waited_for_when_time_is_up() -> None:
    calls = []
    with pytest.raises(WaitTimeout, match="waiting for m4's copy"):
        wait_for("m4's copy", lambda: calls.append(1), timeout=0, every=0)
    assert calls == [1]  # checked once even with no time at all
    assert issubclass(WaitTimeout, AssertionError)  # a failed check in a test


def test_a_check_that_raises_gives_up_at_once() -> None:
    def dead() -> bool:
        raise RuntimeError("the daemon exited")

    with pytest.raises(RuntimeError, match="exited"):
        wait_for("a dead daemon", dead, timeout=60)
