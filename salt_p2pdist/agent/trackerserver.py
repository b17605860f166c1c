"""The tracker's HTTP face, in the master's origin agent: announces, WAN shares, certificates, torrents.

It speaks TLS when the master has a swarm CA: its certificate is from that CA (server_tls),
and a host's client certificate says who is announcing. The decisions are
:mod:`salt_p2pdist.tracker`'s; this only reads requests and writes answers.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.server import log_request_error, read_json_body, send_bytes, send_json
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.files.atomic import write_atomic
from salt_p2pdist.torrent import swarmca
from salt_p2pdist.tracker.announce import Holder, TrackerError, holder_of
from salt_p2pdist.tracker.tracker import Tracker

log = logging.getLogger(__name__)


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
        send_bytes(self, 200, body, "text/plain")

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
        send_json(self, code, body)

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
            send_json(self, 400, {"error": str(exc)})
            return
        try:
            if path == "/cert":
                with self.server.lock:
                    code, body = 200, desk(request)
            else:  # takes the lock itself, only to check: a torrent of megabytes is sent without it
                code, body = 200, desk(request)
        except (TrackerError, ValueError) as exc:
            code, body = 403, {"error": str(exc)}
        send_json(self, code, body)


HANDSHAKE_TIMEOUT_S = 15


class TrackerServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # announce bursts when a push reaches many hosts

    def handle_error(self, request: Any, client_address: Any) -> None:
        log_request_error(client_address)

    def __init__(self, interface: str, port: int, tracker: Tracker,
                 certs: Callable[[dict[str, Any]], dict[str, str]] | None = None,
                 tls: ssl.SSLContext | None = None,
                 torrents: Callable[[dict[str, Any]], dict[str, str]] | None = None,
                 lock: threading.Lock | None = None):
        super().__init__((interface, port), TrackerHandler)
        self.tracker = tracker
        self.certs = certs
        self.torrents = torrents
        self.tls = tls
        self.lock = lock or threading.Lock()  # the tracker's table, shared with its owner's loops

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


def tracker_names(cfg: AgentConfig) -> list[str]:
    """What the tracker's certificate is for: the configured names, the interface, this host."""
    names = [*cfg.tracker_names, "127.0.0.1", "localhost"]
    if cfg.tracker_interface not in ("", "0.0.0.0", "::"):
        names.append(cfg.tracker_interface)
    try:
        fqdn = socket.getfqdn()
        names += [fqdn, socket.gethostbyname(fqdn)]
    except OSError:  # no resolvable name: the configured names must do
        pass
    return [n for n in dict.fromkeys(names) if n]


def server_tls(cfg: AgentConfig, ca: swarmca.SwarmCA, key_file: Path) -> ssl.SSLContext:
    """The tracker's TLS: a server certificate from the swarm CA, client certificates optional
    (``/cert`` is asked before a host has one) and, when shown, checked against the CA."""
    cert_file = cfg.state_dir / "tracker.pem"  # public; made again at each start for the current names
    write_atomic(cert_file, ca.issue_server(swarmca.public_pem(key_file.read_bytes()), tracker_names(cfg)))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file)
    ctx.load_verify_locations(cadata=ca.cert_pem.decode())
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx
