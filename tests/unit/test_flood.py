"""A real origin agent's tracker, flooded with junk and idle connections, keeps serving announces."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_from_bytes

import pytest

from salt_p2pdist.agent.app import Agent
from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.bencode import bdecode
from salt_p2pdist.tracker import announce_token

HASH = bytes(range(20))
JUNK = [
    b"POST /cert HTTP/1.1\r\nContent-Length: 60000\r\n\r\n{",  # a body that never comes
    b"POST /cert HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    b"POST /cert HTTP/1.1\r\nContent-Length: x\r\n\r\n",
    b"POST /cert HTTP/1.1\r\nContent-Length: 9\r\n\r\nInfinity!",
    b"GET /announce?info_hash=%ZZ&port=-5&auth=\xe9\xff HTTP/1.1\r\n\r\n",
    b"GET /wan?minion=\xff&info_hash=zz&auth=\xe9 HTTP/1.1\r\n\r\n",
    b"GET /announce HTTP/1.1\r\nHost: " + b"x" * 70_000 + b"\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64),  # a TLS hello
    os.urandom(300),
    b"GET /",  # a request line that never ends
    b"",  # connect and say nothing
]


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[Agent]:
    agent = Agent(AgentConfig(state_dir=tmp_path / "origin", host_id="origin", bt_interface="127.0.0.1",
                              tracker_port=0, tracker_interface="127.0.0.1", ca_dir=tmp_path / "ca",
                              known_hosts_dir=tmp_path / "keys"), token="t" * 32)
    assert agent.side is not None
    agent.side.tracker.register(HASH, frozenset({"m1"}), 6881, "pkg")
    yield agent
    agent.close()


def _announce(agent: Agent) -> dict:
    assert agent.side is not None and agent.side.tracker.secret is not None
    token = announce_token(agent.side.tracker.secret, HASH, "m1")
    url = (f"http://127.0.0.1:{agent.tracker_port}/announce?info_hash={quote_from_bytes(HASH)}"
           f"&port=7000&left=5&minion=m1&auth={token}")
    # The timeout only keeps a broken tracker from hanging the test run.
    with urllib.request.urlopen(url, timeout=20) as resp:
        return bdecode(resp.read())


def test_announces_are_served_through_a_flood(origin: Agent) -> None:
    assert b"peers" in _announce(origin)
    held = []
    for i in range(120):
        sock = socket.create_connection(("127.0.0.1", origin.tracker_port), timeout=5)
        with contextlib.suppress(OSError):  # the tracker may already have closed on us: fine
            sock.sendall(JUNK[i % len(JUNK)])
        held.append(sock)  # kept open (and silent) while the real hosts announce
    answers: list[dict] = []
    errors: list[BaseException] = []

    def host() -> None:
        try:
            answers.append(_announce(origin))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=host) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for sock in held:
        sock.close()
    assert not errors, errors[:3]
    assert len(answers) == 20 and all(b"peers" in a for a in answers), answers[:3]
    assert b"peers" in _announce(origin)  # and after the flood


def test_the_api_answers_through_a_flood(origin: Agent) -> None:
    held = []
    for i in range(60):
        sock = socket.create_connection(("127.0.0.1", origin.api_port), timeout=5)
        with contextlib.suppress(OSError):
            sock.sendall(JUNK[i % len(JUNK)].replace(b"/cert", b"/v1/dists"))
        held.append(sock)
    req = urllib.request.Request(f"http://127.0.0.1:{origin.api_port}/v1/health",
                                 headers={"X-P2PDist-Token": "t" * 32})
    try:
        for _ in range(10):
            with urllib.request.urlopen(req, timeout=20) as resp:
                assert resp.status == 200
    finally:
        for sock in held:
            sock.close()
