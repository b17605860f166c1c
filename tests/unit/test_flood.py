"""A real origin agent's tracker, flooded with junk and idle connections, keeps serving announces.

The tracker speaks TLS (the origin has a swarm CA): junk arrives both in the
clear (the handshake fails) and inside TLS sessions (the HTTP parser sees it).
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_from_bytes

import pytest

from salt_p2pdist.agent import mastertls
from salt_p2pdist.agent.app import Agent
from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.torrent import swarmca
from salt_p2pdist.torrent.bencode import bdecode

HASH = bytes(range(20))
JUNK = [
    b"POST /cert HTTP/1.1\r\nContent-Length: 60000\r\n\r\n{",  # a body that never comes
    b"POST /cert HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    b"POST /cert HTTP/1.1\r\nContent-Length: x\r\n\r\n",
    b"POST /cert HTTP/1.1\r\nContent-Length: 9\r\n\r\nInfinity!",
    b"GET /announce?info_hash=%ZZ&port=-5&minion=\xe9\xff HTTP/1.1\r\n\r\n",
    b"GET /wan?minion=\xff HTTP/1.1\r\n\r\n",
    b"GET /wan?minion=%ff%fe HTTP/1.1\r\n\r\n",
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
    assert agent.side is not None and agent.side.ca is not None
    agent.side.tracker.register(HASH, frozenset({"m1"}), 6881, "pkg")
    yield agent
    agent.close()


@pytest.fixture
def m1_tls(origin: Agent, tmp_path: Path) -> ssl.SSLContext:
    """m1's client side: trusts the swarm CA, shows m1's certificate for the swarm."""
    assert origin.side is not None and origin.side.ca is not None
    ca = origin.side.ca
    key = swarmca.host_key(tmp_path / "m1.key")
    (tmp_path / "m1.pem").write_bytes(ca.issue(swarmca.public_pem(key), torrent_name="pkg", holder="m1"))
    return mastertls.client_context(ca.cert_pem.decode(), (tmp_path / "m1.pem", tmp_path / "m1.key"))


def _announce(agent: Agent, ctx: ssl.SSLContext) -> dict:
    url = (f"https://127.0.0.1:{agent.tracker_port}/announce?info_hash={quote_from_bytes(HASH)}"
           f"&port=7000&left=5&minion=m1")
    # The timeout only keeps a broken tracker from hanging the test run.
    with urllib.request.urlopen(url, timeout=20, context=ctx) as resp:
        return bdecode(resp.read())


def _junk_connection(port: int, junk: bytes, ctx: ssl.SSLContext | None, held: list[socket.socket]) -> None:
    """Open a connection that sends ``junk`` (inside a TLS session when ``ctx``), then keeps silent."""
    with contextlib.suppress(OSError):  # the tracker may already have closed on us: fine
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        held.append(sock)
        if ctx is not None:
            sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
            held.append(sock)
        sock.sendall(junk)


def test_announces_are_served_through_a_flood(origin: Agent, m1_tls: ssl.SSLContext) -> None:
    assert origin.tracker_port is not None and origin.side is not None and origin.side.ca is not None
    assert b"peers" in _announce(origin, m1_tls)
    anonymous = mastertls.client_context(origin.side.ca.cert_pem.decode())
    held: list[socket.socket] = []
    # Each junk in the clear, over TLS without a certificate, and as m1; from their own threads,
    # so that the hosts announce while the flood still holds the tracker's connections.
    flood = [threading.Thread(target=_junk_connection, args=(
        origin.tracker_port, JUNK[i % len(JUNK)], (None, anonymous, m1_tls)[i // len(JUNK) % 3], held))
        for i in range(3 * len(JUNK) * 3)]
    for t in flood:
        t.start()
    answers: list[dict] = []
    errors: list[BaseException] = []

    def host() -> None:
        try:
            answers.append(_announce(origin, m1_tls))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=host) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for t in flood:
        t.join()
    for sock in held:
        sock.close()
    assert not errors, errors[:3]
    assert len(answers) == 20 and all(b"peers" in a for a in answers), answers[:3]
    assert b"peers" in _announce(origin, m1_tls)  # and after the flood


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
