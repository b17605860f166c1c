"""Starting a real agent without waiting for it (a push hashes meanwhile), then waiting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.testing.agents import stop_agents_under

HELD = "another p2pdist agent holds this state dir"  # what a second start prints, then exits


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    stop_agents_under(tmp_path)


def test_start_then_ensure_starts_one_agent_and_returns_its_endpoint(root: Path) -> None:
    agent = AgentClient(root / "a", "a", ["--bt-interface", "127.0.0.1"])
    agent.start()
    endpoint = agent.ensure()
    assert endpoint["api_port"] and agent.alive()
    agent.start()  # it runs: nothing is started again
    assert agent.ensure()["pid"] == endpoint["pid"]
    assert HELD not in (root / "a" / "agent.out").read_text()


def test_ensure_starts_the_agent_again_after_a_start_that_was_consumed(root: Path) -> None:
    agent = AgentClient(root / "a", "a", ["--bt-interface", "127.0.0.1"])
    agent.start()
    first = agent.ensure()["pid"]
    assert agent.stop()
    assert agent.ensure()["pid"] != first  # stopped since: ensure starts it, not waits for nothing
