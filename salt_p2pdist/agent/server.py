"""The agent's loopback JSON API, and what both of the agent's HTTP faces share.

The API binds 127.0.0.1 only and requires the token from ``agent.json``
(readable by the agent's own user), so only local admins' tools reach it.
The other face, the tracker on the master, is :mod:`salt_p2pdist.agent.trackerserver`.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from salt_p2pdist.agent.config import TOKEN_HEADER
from salt_p2pdist.core.errors import InvalidRequest, NotFound, P2PDistError

log = logging.getLogger(__name__)


MAX_BODY = 1 << 26  # an order carries a base64 torrent: a few MB at most


def read_json_body(handler: BaseHTTPRequestHandler, limit: int = MAX_BODY) -> Any:
    """The request's JSON object body ({} when empty); InvalidRequest for anything else."""
    try:
        length = int(handler.headers.get("Content-Length") or 0)
    except ValueError:
        raise InvalidRequest("Content-Length is not a number") from None
    if not 0 <= length <= limit:
        raise InvalidRequest(f"Content-Length {length} is out of range (0..{limit})")
    raw = handler.rfile.read(length) if length else b""
    if len(raw) != length:
        raise InvalidRequest("the request body ended early")
    try:
        body = json.loads(raw) if raw else {}
    except ValueError as exc:  # UnicodeDecodeError too
        raise InvalidRequest(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return body


def send_bytes(handler: BaseHTTPRequestHandler, code: int, data: bytes, content_type: str) -> None:
    handler.send_response(code)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def send_json(handler: BaseHTTPRequestHandler, code: int, body: Any) -> None:
    send_bytes(handler, code, json.dumps(body).encode(), "application/json")


def log_request_error(client_address: Any) -> None:
    """A client that vanished is routine; anything else goes to the agent's log, not stderr."""
    exc = sys.exc_info()[1]
    if isinstance(exc, ConnectionError | TimeoutError):
        log.debug("request from %s dropped: %s", client_address, exc)
    else:
        log.exception("request from %s failed", client_address)


class ApiHandler(BaseHTTPRequestHandler):
    server: ApiServer
    timeout = 30  # an idle or half-sent request does not hold a thread forever

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: the agent has its own log
        log.debug(fmt, *args)

    def _dispatch(self, method: str) -> None:
        # Headers arrive as latin-1 text; compare_digest refuses non-ASCII str, so compare bytes.
        given = self.headers.get(TOKEN_HEADER, "").encode("latin-1", "replace")
        if not secrets.compare_digest(given, self.server.token.encode()):
            send_json(self, 403, {"error": "bad token"})
            return
        url = urlsplit(self.path)
        try:
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            body = read_json_body(self)
            send_json(self, 200, self.server.routes(method, url.path, query, body))
        except NotFound as exc:
            send_json(self, 404, {"error": str(exc), "kind": "NotFound"})
        except InvalidRequest as exc:
            send_json(self, 400, {"error": str(exc), "kind": type(exc).__name__})
        except P2PDistError as exc:
            send_json(self, 500, {"error": str(exc), "kind": type(exc).__name__})
        except Exception as exc:  # a bug must cost one answer, not the agent's thread
            log.exception("API %s %s failed", method, url.path)
            send_json(self, 500, {"error": f"internal error ({type(exc).__name__}); see agent.log",
                              "kind": "InternalError"})

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops connections (1 s SYN retries) under a burst

    def handle_error(self, request: Any, client_address: Any) -> None:
        log_request_error(client_address)

    def __init__(self, port: int, token: str, routes: Any):
        super().__init__(("127.0.0.1", port), ApiHandler)
        self.token = token
        self.routes = routes
