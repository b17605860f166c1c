"""Uninstalling from a minion: what goes first, and what stays when the agent will not stop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from salt_p2pdist.agent import uninstall
from salt_p2pdist.core.errors import P2PDistError


class Agent:
    """agent.client.AgentClient as uninstall uses it; ``log`` records the stop among the unhooks."""

    def __init__(self, log: list[str], stops: bool = True):
        self.log, self.up, self.stops = log, True, stops

    def alive(self) -> bool:
        return self.up

    def call(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        return {"a" * 16: {"dest": "/opt/kept"}} if path == "/dists" else {}

    def stop(self) -> bool:
        self.log.append("stop")
        self.up = not self.stops
        return self.stops


def test_the_beacon_and_the_schedules_go_before_the_agent_stops(tmp_path: Path) -> None:
    # A beacon tick between the stop and the unhook would have the stopped agent started again.
    log: list[str] = []
    state = tmp_path / "p2pdist"
    (state / "dists").mkdir(parents=True)
    out = uninstall.uninstall(Agent(log), state, False, log.append,  # type: ignore[arg-type]
                              ["p2pdist_report", "p2pdist_agent"])
    assert log == ["p2pdist_report", "p2pdist_agent", "stop"]
    assert out["copies_kept"] == ["/opt/kept"] and not state.exists()


def test_an_agent_that_does_not_stop_keeps_its_state_and_says_what_to_do(tmp_path: Path) -> None:
    log: list[str] = []
    state = tmp_path / "p2pdist"
    (state / "dists").mkdir(parents=True)
    with pytest.raises(P2PDistError, match=r"run p2pdist\.uninstall again"):
        uninstall.uninstall(Agent(log, stops=False), state, False, log.append,  # type: ignore[arg-type]
                            ["p2pdist_report"])
    assert state.is_dir()
