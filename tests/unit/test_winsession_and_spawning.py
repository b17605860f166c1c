"""Windows' end-of-session and close messages stop the agent; the agent leaves the minion's job if it may.

The window itself and CreateProcess run only on Windows (tests/windows proves them under
Wine); here the decisions: which message stops the agent, and which flags start it.
"""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

import pytest

from salt_p2pdist.agent import spawning, winsession

BREAKAWAY, DETACHED, NEW_GROUP = 0x01000000, 0x00000008, 0x00000200


class Stops:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.mark.parametrize(("msg", "wparam", "answer", "stopped"), [
    (winsession.WM_QUERYENDSESSION, 0, 1, 0),  # the session may end; nothing stops yet
    (winsession.WM_ENDSESSION, 1, 0, 1),  # it ends: stop cleanly before answering
    (winsession.WM_ENDSESSION, 0, 0, 0),  # the logoff was cancelled: go on
    (winsession.WM_CLOSE, 0, 0, 1),  # a service manager closes us: stop cleanly
    (0x0001, 0, None, 0),  # WM_CREATE and the rest: Windows' default handling
])
def test_which_window_messages_stop_the_agent(msg: int, wparam: int, answer: int | None,
                                              stopped: int) -> None:
    stop = Stops()
    assert winsession.answer(msg, wparam, stop) == answer
    assert stop.count == stopped


@pytest.mark.skipif(sys.platform == "win32", reason="the window exists on Windows only")
def test_elsewhere_no_window_is_opened() -> None:
    stop = Stops()
    assert winsession.watch(stop) is False and stop.count == 0


class FakeWindowsPopen:
    """CreateProcess as a job object that may or may not be left answers it."""

    def __init__(self, breakaway_error: int | None) -> None:
        self.breakaway_error = breakaway_error
        self.calls: list[dict[str, Any]] = []

    def __call__(self, cmd: list[str], **kwargs: Any) -> object:
        self.calls.append(kwargs)
        if self.breakaway_error is not None and kwargs.get("creationflags", 0) & BREAKAWAY:
            exc = PermissionError(13, "Access is denied")
            exc.winerror = self.breakaway_error  # type: ignore[attr-defined]
            raise exc
        return object()


@pytest.fixture
def on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    for name, value in (("CREATE_BREAKAWAY_FROM_JOB", BREAKAWAY), ("DETACHED_PROCESS", DETACHED),
                        ("CREATE_NEW_PROCESS_GROUP", NEW_GROUP)):
        monkeypatch.setattr(subprocess, name, value, raising=False)


@pytest.mark.usefixtures("on_windows")
def test_the_agent_leaves_the_minions_job_when_it_may(monkeypatch: pytest.MonkeyPatch) -> None:
    popen = FakeWindowsPopen(breakaway_error=None)
    monkeypatch.setattr(subprocess, "Popen", popen)
    spawning.spawn_detached(["agent"], io.BytesIO())
    assert [c["creationflags"] for c in popen.calls] == [DETACHED | NEW_GROUP | BREAKAWAY]


@pytest.mark.usefixtures("on_windows")
def test_a_job_that_forbids_leaving_it_still_gets_the_agent_started(monkeypatch: pytest.MonkeyPatch) -> None:
    popen = FakeWindowsPopen(breakaway_error=spawning.ERROR_ACCESS_DENIED)
    monkeypatch.setattr(subprocess, "Popen", popen)
    spawning.spawn_detached(["agent"], io.BytesIO())
    flags = [c["creationflags"] for c in popen.calls]
    assert flags == [DETACHED | NEW_GROUP | BREAKAWAY, DETACHED | NEW_GROUP]  # tried, then inside the job


@pytest.mark.usefixtures("on_windows")
def test_other_start_failures_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    popen = FakeWindowsPopen(breakaway_error=2)  # ERROR_FILE_NOT_FOUND: no interpreter there
    monkeypatch.setattr(subprocess, "Popen", popen)
    with pytest.raises(PermissionError):
        spawning.spawn_detached(["agent"], io.BytesIO())
    assert len(popen.calls) == 1


def test_on_posix_the_agent_gets_a_session_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    popen = FakeWindowsPopen(breakaway_error=None)
    monkeypatch.setattr(subprocess, "Popen", popen)
    spawning.spawn_detached(["agent"], io.BytesIO())
    assert popen.calls[0]["start_new_session"] is True and "creationflags" not in popen.calls[0]
