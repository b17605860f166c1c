"""Talking to the agent from Salt modules: find it, start it if needed, call it.

Portable on purpose (R10): loopback HTTP and a detached child process work the
same on Windows minions as on Linux.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from salt_p2pdist.agent import direct, spawning, stopping
from salt_p2pdist.agent.config import TOKEN_HEADER, AgentConfig
from salt_p2pdist.core.errors import (
    AgentUnavailable,
    Conflict,
    InvalidRequest,
    NoSpace,
    NotFound,
    P2PDistError,
)

log = logging.getLogger(__name__)
START_TIMEOUT_S = 30.0
UNANSWERED_GRACE_S = 2.0
STOP_TIMEOUT_S = 60.0  # saving resume data takes up to 10 s per transfer libtorrent is slow on
_ERRORS: dict[str, type[P2PDistError]] = {
    "NotFound": NotFound, "Conflict": Conflict, "InvalidRequest": InvalidRequest, "NoSpace": NoSpace,
}


class AgentClient:
    def __init__(self, state_dir: Path, host_id: str, agent_args: list[str] | None = None):
        self.state_dir = state_dir
        self.host_id = host_id
        self.agent_args = agent_args or []
        self._spawned = False  # by start(), for the next ensure() only
        self._endpoint_file = AgentConfig(state_dir=state_dir, host_id=host_id).endpoint_file

    def _endpoint(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self._endpoint_file.read_text()))
        except (OSError, ValueError):
            return None

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             timeout: float = 30) -> Any:
        ep = self._endpoint()
        if ep is None:
            raise AgentUnavailable(f"p2pdist agent for {self.host_id} is not running")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{ep['api_port']}/v1{path}", data=data,
                                     method=method, headers={TOKEN_HEADER: ep["token"],
                                                             "Content-Type": "application/json"})
        try:
            with direct.urlopen(req, timeout=timeout) as resp:  # loopback: never via a proxy
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                err = json.loads(exc.read())
            except ValueError:
                err = {"error": str(exc)}
            raise _ERRORS.get(err.get("kind", ""), P2PDistError)(err["error"]) from exc
        except (OSError, ValueError) as exc:
            raise AgentUnavailable(f"p2pdist agent for {self.host_id} does not answer: {exc}") from exc

    def held_on_disk(self) -> list[str]:
        """Ids of the distributions the agent keeps on disk and resumes when it starts, running or not."""
        dists = AgentConfig(state_dir=self.state_dir, host_id=self.host_id).dists_dir
        return sorted(order.parent.name for order in dists.glob("*/order.json"))

    def has_process(self) -> bool:
        """Is the agent's process there? No call to it, so a busy agent counts as there."""
        ep = self._endpoint()
        return ep is not None and stopping.running(ep, self._endpoint_file.exists)

    def alive(self, timeout: float = 3) -> bool:
        try:
            return bool(self.call("GET", "/health", timeout=timeout).get("ok"))
        except AgentUnavailable:
            return False

    def start(self) -> None:
        """Start the agent unless it already runs, without waiting for it: ``ensure`` waits.

        Lets a caller overlap the agent's start with its own work (the push hashes meanwhile).
        """
        if not self.alive():
            self._spawn()
            self._spawned = True

    def ensure(self) -> dict[str, Any]:
        """Start the agent unless it already runs; return its endpoint."""
        spawned, self._spawned = self._spawned, False
        if self.alive():
            return self._endpoint() or {}
        if not spawned:
            self._spawn()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.alive():
                return self._endpoint() or {}
            time.sleep(0.1)
        raise AgentUnavailable(f"p2pdist agent for {self.host_id} did not start; "
                               f"see {self.state_dir / 'agent.log'} and agent.out")

    def _spawn(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "salt_p2pdist.agent", "--state-dir", str(self.state_dir),
               "--host-id", self.host_id, *self.agent_args]
        with (self.state_dir / "agent.out").open("ab") as out:
            spawning.spawn_detached(cmd, out)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> bool:
        """Ask the agent to save its state and exit; True once it has (or none was running)."""
        return self.stop_outcome(timeout).result

    def stop_outcome(self, timeout: float = STOP_TIMEOUT_S) -> stopping.StopOutcome:
        """Ask the agent to save its state and exit, and say what came of it.

        Through the API, never a signal (stopping.py). Terminated only if it
        does not exit within ``timeout`` and is provably still our agent. A
        stop counts as clean once the process is gone and has left the
        clean-stop marker (engine.close() writes it last; a start removes it).
        """
        ep = self._endpoint()
        if ep is None:
            return stopping.StopOutcome(True, f"the p2pdist agent of {self.host_id} was not running", False)
        endpoint_file, marker = self._endpoint_file, self.state_dir / "clean_stop"
        pid = int(ep.get("pid") or 0) or None
        was_running = stopping.running(ep, endpoint_file.exists)
        try:
            self.call("POST", "/shutdown", timeout=10)
        except NotFound:
            # An agent of an earlier version, without the route. It answered
            # with the token of this agent.json: the pid there is that live agent.
            gone = stopping.terminate_if_ours({**ep, "started": stopping.start_time_of(pid or 0)})
            return stopping.StopOutcome(False, (
                f"the p2pdist agent (pid {pid}) is of an earlier version without a clean stop: "
                + ("terminated it; its next start re-checks staged downloads" if gone
                   else "it could not be stopped; see its agent.log")), True, pid)
        except P2PDistError as exc:  # not answering: hung, or just gone
            if not was_running:
                return stopping.StopOutcome(True, (
                    f"the p2pdist agent of {self.host_id} was not running (it last ended without "
                    "a clean stop: its next start re-checks staged downloads)"), False, pid)
            log.warning("p2pdist agent for %s did not take the shutdown call: %s", self.host_id, exc)
            timeout = min(timeout, UNANSWERED_GRACE_S)
        exited = stopping.wait_stopped([(ep, endpoint_file.exists)], timeout)
        if not exited and stopping.terminate_if_ours(ep):
            return stopping.StopOutcome(False, (
                f"the p2pdist agent (pid {pid}) did not exit within {timeout:.0f} s of the shutdown "
                "call: terminated it, no resume data saved; its next start re-checks staged downloads"),
                True, pid)
        if stopping.running(ep, endpoint_file.exists):
            return stopping.StopOutcome(False, (
                f"could not confirm that the p2pdist agent (pid {pid}) stopped: it did not exit within "
                f"{timeout:.0f} s and could not be terminated; see its agent.log"), True, pid)
        if marker.exists():
            return stopping.StopOutcome(True, f"the p2pdist agent (pid {pid}) stopped cleanly: "
                                              "resume data saved", True, pid)
        return stopping.StopOutcome(False, (
            f"the p2pdist agent (pid {pid}) exited without confirming a clean stop (no clean_stop "
            "marker): its next start re-checks staged downloads; see its agent.log"), True, pid)
