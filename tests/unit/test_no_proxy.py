"""Loopback calls to the agent ignore proxy settings (Windows takes them from the registry)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from salt_p2pdist.agent.client import AgentClient

DEAD_PROXY = "http://127.0.0.1:9"  # nothing listens: a request sent there fails


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"ok": True, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt: str, *args: Any) -> None:
        pass


@pytest.fixture
def agent_api(tmp_path: Path) -> Iterator[Path]:
    """A stand-in agent API on loopback, and the state dir whose agent.json names it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (tmp_path / "agent.json").write_text(json.dumps({"pid": 0, "api_port": server.server_address[1],
                                                     "token": "t"}))
    yield tmp_path
    server.shutdown()
    server.server_close()


def test_a_dead_proxy_in_the_environment_does_not_cut_the_agent_off(
        agent_api: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.setenv(name, DEAD_PROXY)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    port = json.loads((agent_api / "agent.json").read_text())["api_port"]
    with pytest.raises(urllib.error.URLError):  # what urllib's default handlers do with these settings
        urllib.request.build_opener().open(f"http://127.0.0.1:{port}/v1/health", timeout=5)
    client = AgentClient(agent_api, "m1")
    assert client.alive()
    assert client.call("GET", "/health")["path"] == "/v1/health"
