"""Property: a real agent answers every API request (accept, or refuse with its own error) and lives on."""

from __future__ import annotations

import base64
import json
import os
import socket
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest
from hostile_strategies import json_values as json_like
from hostile_strategies import path_elements
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from salt_p2pdist.agent.app import Agent
from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.server import TOKEN_HEADER
from salt_p2pdist.torrent import creation

TOKEN = "t" * 32
TRACKER = "http://127.0.0.1:9/announce"  # nothing listens
SLOW = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@pytest.fixture(scope="module")
def agent(tmp_path_factory) -> Iterator[tuple[Agent, Path, str]]:
    root = tmp_path_factory.mktemp("api")
    (root / "src").mkdir()
    (root / "src" / "pkg.bin").write_bytes(os.urandom(100_000))
    torrent = base64.b64encode(creation.create(root / "src" / "pkg.bin", TRACKER)).decode()
    # With a tracker port: the origin agent's routes (topology, fetchers) are reachable too.
    running = Agent(AgentConfig(state_dir=root / "state", host_id="origin", bt_interface="127.0.0.1",
                                tracker_port=0, tracker_interface="127.0.0.1"), token=TOKEN)
    yield running, root, torrent
    running.close()


def _request(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str]
             ) -> tuple[int, Any]:
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


def _alive(agent: Agent) -> None:
    status, body = _request(agent.api_port, "GET", "/v1/health", None, {TOKEN_HEADER: TOKEN})
    assert status == 200 and body["ok"] is True


def _answered(status: int, body: Any) -> None:
    assert status in (200, 400, 403, 404, 409, 500), status
    if status != 200:
        assert isinstance(body, dict) and isinstance(body.get("error"), str), body
        assert body.get("kind") != "InternalError", body  # an unforeseen exception: a bug


@st.composite
def orders(draw, torrent: str, root: Path):
    dest = root / "dest" / draw(st.sampled_from(["a", "b"]))
    return draw(st.fixed_dictionaries({}, optional={
        "mode": st.sampled_from(["fetch", "seed", "other"]) | json_like,
        "torrent": st.sampled_from([torrent, "!!", "", base64.b64encode(b"junk").decode()]) | json_like,
        "dest": st.sampled_from([str(dest), "relative", ""]) | json_like,
        "source": st.sampled_from([str(root / "src" / "pkg.bin"), "/nonexistent"]) | json_like,
        "allowed_dest": st.sampled_from([[str(root / "dest")], [], None, "/"]) | json_like,
        "force": json_like, "targets": json_like, "upload_limit": json_like,
        "sites": json_like, "site": json_like, "tracker": json_like}))


bodies = st.sampled_from(["dists", "policy", "topology"]).flatmap(lambda route: st.tuples(
    st.just(route), json_like | st.fixed_dictionaries({}, optional={
        "policy": json_like, "wan_rate": json_like, "site": json_like, "site_networks": json_like,
        "sites": json_like, "overrides": json_like})))


@settings(max_examples=150, deadline=None, suppress_health_check=SLOW)
@given(st.data())
def test_any_order_body_is_answered(agent, data):
    running, root, torrent = agent
    body = data.draw(orders(torrent, root) | json_like)
    status, answer = _request(running.api_port, "POST", "/v1/dists", json.dumps(body).encode(),
                              {TOKEN_HEADER: TOKEN, "Content-Type": "application/json"})
    _answered(status, answer)
    _alive(running)
    for path in root.rglob("*"):  # nothing outside its state dir, the source and the dests
        assert path.relative_to(root).parts[0] in ("state", "src", "dest"), path


@settings(max_examples=150, deadline=None, suppress_health_check=SLOW)
@given(bodies)
def test_any_policy_or_topology_body_is_answered(agent, route_body):
    running, _root, _torrent = agent
    route, body = route_body
    status, answer = _request(running.api_port, "POST", f"/v1/{route}", json.dumps(body).encode(),
                              {TOKEN_HEADER: TOKEN})
    _answered(status, answer)
    _alive(running)


@settings(max_examples=150, deadline=None, suppress_health_check=SLOW)
@given(st.sampled_from(["GET", "POST", "DELETE"]), st.lists(path_elements, max_size=3),
       st.binary(max_size=40), st.sampled_from([TOKEN, "", "\xe9", TOKEN + "x"]),
       st.sampled_from([None, "-1", "x", "99999999999", "0", "10"]))
@example("POST", ["v1", "dists"], b"{not json", TOKEN, None)
@example("GET", ["v1", "health"], b"", "\xe9", None)  # a latin-1 token header
def test_any_request_is_answered(agent, method, elements, raw, token, length):
    running, _root, _torrent = agent
    # Whitespace would split the request line (http.server then answers as HTTP/0.9).
    path = "/" + "/".join("".join(c for c in e if c not in "?# \t\r\n\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0")
                          for e in elements)
    headers = {"Content-Length": length if length is not None else str(len(raw))}
    request = (f"{method} {path.encode('utf-8', 'surrogatepass').decode('latin-1')} HTTP/1.1\r\n"
               f"Host: x\r\n{TOKEN_HEADER}: {token}\r\n"
               + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n")
    with socket.create_connection(("127.0.0.1", running.api_port), timeout=30) as sock:
        sock.sendall(request.encode("latin-1", "replace") + raw)
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1."), (request, reply)  # an answer, not a dropped connection
    assert b"InternalError" not in reply, reply
    _alive(running)
