"""Stopping the agent through its API; a pid is terminated only while it is provably our agent."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from salt_p2pdist.agent import stopping
from salt_p2pdist.agent.client import AgentClient

# A process whose command line names the agent's module but is not one (a stand-in).
STAND_IN = [sys.executable, "-c", "import time; time.sleep(120)", stopping.AGENT_MODULE]


@pytest.fixture
def stand_in() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(STAND_IN)
    yield proc
    proc.kill()
    proc.wait()


def endpoint(proc: subprocess.Popen[bytes], shift: float = 0.0) -> dict[str, object]:
    started = stopping.start_time_of(proc.pid)
    assert started is not None
    return {"pid": proc.pid, "started": started + shift}


def test_a_reused_pid_is_not_our_agent(stand_in: subprocess.Popen[bytes]) -> None:
    # agent.json names this pid, but the process holding it started later.
    stale = endpoint(stand_in, shift=-30.0)
    assert not stopping.running(stale, lambda: True)
    assert stopping.terminate_if_ours(stale) is False
    assert stand_in.poll() is None  # untouched


def test_a_process_that_is_not_the_agent_is_never_terminated() -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        ep = endpoint(other)  # right pid, right start time, but another program
        assert stopping.terminate_if_ours(ep) is False
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_our_agent_is_terminated_as_a_last_resort(stand_in: subprocess.Popen[bytes]) -> None:
    ep = endpoint(stand_in)
    assert stopping.running(ep, lambda: True)
    assert stopping.terminate_if_ours(ep) is True
    stand_in.wait(10)
    assert not stopping.running(ep, lambda: True)


def test_without_an_identity_the_endpoint_file_decides_and_nothing_is_terminated(
        stand_in: subprocess.Popen[bytes]) -> None:
    ep = {"pid": stand_in.pid, "started": None}  # an agent without psutil
    assert stopping.running(ep, lambda: True) and not stopping.running(ep, lambda: False)
    assert stopping.terminate_if_ours(ep) is False
    assert stand_in.poll() is None


def test_stop_with_a_stale_agent_json_signals_nobody(tmp_path: Path,
                                                     stand_in: subprocess.Popen[bytes]) -> None:
    # A crashed agent's agent.json; its pid now belongs to another process.
    (tmp_path / "agent.json").write_text(json.dumps({**endpoint(stand_in, shift=-30.0),
                                                     "api_port": 9, "token": "x"}))
    outcome = AgentClient(tmp_path, "m1").stop_outcome(timeout=1)
    assert outcome.result is True and outcome.was_running is False  # nothing of ours runs
    assert "was not running" in outcome.comment and "re-checks" in outcome.comment
    assert stand_in.poll() is None


def test_stopping_no_agent_at_all_is_a_success_that_says_so(tmp_path: Path) -> None:
    outcome = AgentClient(tmp_path, "m1").stop_outcome()
    assert outcome.as_dict() == {"result": True, "comment": "the p2pdist agent of m1 was not running",
                                 "was_running": False, "pid": None}


# An "agent" that takes the shutdown call and then goes on running (hung in its stop).
STUBBORN = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.send_response(200); self.send_header("Content-Length", "16"); self.end_headers()
        self.wfile.write(b'{"stopping": 1} ')
    def log_message(self, *args): pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def test_an_agent_that_does_not_exit_in_time_is_a_failure_with_the_reason(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", STUBBORN, stopping.AGENT_MODULE], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        (tmp_path / "agent.json").write_text(json.dumps({**endpoint(proc), "api_port": port, "token": "x"}))
        outcome = AgentClient(tmp_path, "m1").stop_outcome(timeout=1)
        assert outcome.result is False and outcome.was_running is True and outcome.pid == proc.pid
        assert "did not exit within 1 s" in outcome.comment and "terminated" in outcome.comment
        assert proc.wait(10) is not None  # our agent, provably: terminated as the last resort
    finally:
        proc.kill()
        proc.wait()


def test_a_real_agent_stops_through_its_api_as_on_sigterm(tmp_path: Path) -> None:
    agent = AgentClient(tmp_path / "state", "m1", ["--bt-interface", "127.0.0.1"])
    ep = agent.ensure()
    assert ep["started"] is not None
    outcome = agent.stop_outcome()
    assert outcome.result is True and outcome.was_running is True and outcome.pid == ep["pid"]
    assert "stopped cleanly" in outcome.comment
    assert not stopping.running(ep, lambda: True)  # the process has exited
    assert (tmp_path / "state" / "clean_stop").exists()  # resume data saved, can be trusted
    assert not (tmp_path / "state" / "agent.json").exists()
    assert "agent m1 up" in (tmp_path / "state" / "agent.log").read_text()


def test_a_busy_agent_is_there_though_it_does_not_answer_in_time(
        stand_in: subprocess.Popen[bytes], tmp_path: Path) -> None:
    # The stand-in's port accepts connections (the backlog) but never answers,
    # like an agent whose threads a loaded host has not scheduled for seconds.
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(4)
        ep = {**endpoint(stand_in), "api_port": busy.getsockname()[1], "token": "t"}
        (tmp_path / "agent.json").write_text(json.dumps(ep))
        client = AgentClient(tmp_path, "m1")
        assert not client.alive(timeout=0.3)
        assert client.has_process()  # status waits for its answer instead of "not running"
    stand_in.kill()
    stand_in.wait()
    assert not client.has_process()
    (tmp_path / "agent.json").unlink()
    assert not client.has_process()
