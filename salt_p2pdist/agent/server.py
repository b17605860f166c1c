"""The agent's HTTP faces: the loopback JSON API, and on the master the tracker.

The API binds 127.0.0.1 only and requires the token from ``agent.json``
(readable by the agent's own user), so only local admins' tools reach it.
The tracker speaks TLS when the master has a swarm CA: its certificate is
from that CA, and a host's client certificate says who is announcing.
"""

from __future__ import annotations

import json
import logging
import secrets
import ssl
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from salt_p2pdist.agent.config import TOKEN_HEADER
from salt_p2pdist.core.errors import InvalidRequest, NotFound, P2PDistError
from salt_p2pdist.tracker.announce import Holder, TrackerError, holder_of
from salt_p2pdist.tracker.tracker import Tracker

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


class ApiHandler(BaseHTTPRequestHandler):
    server: ApiServer
    timeout = 30  # an idle or half-sent request does not hold a thread forever

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: the agent has its own log
        log.debug(fmt, *args)

    def _reply(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method: str) -> None:
        # Headers arrive as latin-1 text; compare_digest refuses non-ASCII str, so compare bytes.
        given = self.headers.get(TOKEN_HEADER, "").encode("latin-1", "replace")
        if not secrets.compare_digest(given, self.server.token.encode()):
            self._reply(403, {"error": "bad token"})
            return
        url = urlsplit(self.path)
        try:
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            body = read_json_body(self)
            self._reply(200, self.server.routes(method, url.path, query, body))
        except NotFound as exc:
            self._reply(404, {"error": str(exc), "kind": "NotFound"})
        except InvalidRequest as exc:
            self._reply(400, {"error": str(exc), "kind": type(exc).__name__})
        except P2PDistError as exc:
            self._reply(500, {"error": str(exc), "kind": type(exc).__name__})
        except Exception as exc:  # a bug must cost one answer, not the agent's thread
            log.exception("API %s %s failed", method, url.path)
            self._reply(500, {"error": f"internal error ({type(exc).__name__}); see agent.log",
                              "kind": "InternalError"})

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")


def _log_request_error(client_address: Any) -> None:
    """A client that vanished is routine; anything else goes to the agent's log, not stderr."""
    exc = sys.exc_info()[1]
    if isinstance(exc, ConnectionError | TimeoutError):
        log.debug("request from %s dropped: %s", client_address, exc)
    else:
        log.exception("request from %s failed", client_address)


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops connections (1 s SYN retries) under a burst

    def handle_error(self, request: Any, client_address: Any) -> None:
        _log_request_error(client_address)

    def __init__(self, port: int, token: str, routes: Any):
        super().__init__(("127.0.0.1", port), ApiHandler)
        self.token = token
        self.routes = routes


class TrackerHandler(BaseHTTPRequestHandler):
    server: TrackerServer
    timeout = 10  # an idle or half-sent request does not hold a thread forever

    def log_message(self, fmt: str, *args: Any) -> None:
        log.debug(fmt, *args)

    def _holder(self) -> Holder | None:
        """Whom the client's verified certificate names (None over plain HTTP or without one)."""
        if not isinstance(self.connection, ssl.SSLSocket):
            return None
        return holder_of(self.connection.getpeercert())

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/wan":
            self._wan_share(url.query)
            return
        if not url.path.startswith("/announce"):
            self.send_error(404)
            return
        # The address the client used to reach us is where it can reach the origin.
        local_ip = self.connection.getsockname()[0]
        with self.server.lock:
            body = self.server.tracker.respond(url.query, self.client_address[0], local_ip,
                                               self._holder())
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


    def _wan_share(self, query: str) -> None:
        """``/wan?minion=``: the caller's part of its site's WAN cap."""
        q = {k: v[0] for k, v in parse_qs(query).items()}
        try:
            with self.server.lock:
                share = self.server.tracker.wan_share(q.get("minion", ""), self.client_address[0],
                                                      self._holder(), capped=q.get("capped") != "0")
            code, body = 200, share.to_dict()
        except (TrackerError, ValueError) as exc:
            code, body = 403, {"error": str(exc)}
        self._json(code, body)

    def _json(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        """``/cert``: a certificate request; ``/torrent``: a torrent by info hash (tracker/certdesk.py)."""
        path = urlsplit(self.path).path
        desk = self.server.certs if path == "/cert" else self.server.torrents if path == "/torrent" else None
        if desk is None:
            self.send_error(404)
            return
        try:
            # Read before taking the lock: a slow or silent sender must not stall announces.
            request = read_json_body(self, limit=65536)
        except InvalidRequest as exc:
            self._json(400, {"error": str(exc)})
            return
        try:
            if path == "/cert":
                with self.server.lock:
                    code, body = 200, desk(request)
            else:  # takes the lock itself, only to check: a torrent of megabytes is sent without it
                code, body = 200, desk(request)
        except (TrackerError, ValueError) as exc:
            code, body = 403, {"error": str(exc)}
        self._json(code, body)


HANDSHAKE_TIMEOUT_S = 15


class TrackerServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # announce bursts when a push reaches many hosts

    def handle_error(self, request: Any, client_address: Any) -> None:
        _log_request_error(client_address)

    def __init__(self, interface: str, port: int, tracker: Tracker,
                 certs: Callable[[dict[str, Any]], dict[str, str]] | None = None,
                 tls: ssl.SSLContext | None = None,
                 torrents: Callable[[dict[str, Any]], dict[str, str]] | None = None):
        super().__init__((interface, port), TrackerHandler)
        self.tracker = tracker
        self.certs = certs
        self.torrents = torrents
        self.tls = tls
        self.lock = threading.Lock()

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the request's own thread: a client
        # that stalls in it does not hold up the accept loop.
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(HANDSHAKE_TIMEOUT_S)
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)  # detaches ``request``
        except OSError as exc:  # no TLS, a certificate from another CA, a timeout
            log.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()
