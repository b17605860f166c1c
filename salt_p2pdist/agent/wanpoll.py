"""Asking the master's tracker for this host's part of its site's WAN cap.

Only a host whose policy has a site ``wan_rate`` asks, and only while one of
its transfers has peers: every ``POLL_S`` seconds, and at once when a transfer
gets its first peers (the announce that gave a fetcher remote peers also made
it one of the site's hosts on the WAN). Until the first answer, and while the
tracker cannot be reached, the host keeps what it had (at first, the whole cap:
the per-host limit, so a master that is down does not stop a site). The
host shows its certificate for the transfer's swarm: the tracker answers
only certified hosts, about themselves.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from salt_p2pdist.agent import mastertls
from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.enforcer import PolicyEnforcer
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.files.atomic import write_atomic
from salt_p2pdist.tracker.wanshare import WanShare

log = logging.getLogger(__name__)
POLL_S = 5.0


def share_url(transfer: Transfer, host_id: str) -> str:
    parts = urlsplit(transfer.record.tracker)
    return f"{parts.scheme}://{parts.netloc}/wan?{urlencode({'minion': host_id})}"


def ask(transfer: Transfer, host_id: str, ctx: ssl.SSLContext | None) -> WanShare:
    """One question to the tracker. Raises OSError or ValueError."""
    body = mastertls.call(share_url(transfer, host_id), ctx, timeout=5)
    return WanShare(str(body["site"]), bool(body["on_wan"]), int(body["hosts"]), float(body["fraction"]))


class SharePoller:
    def __init__(self, book: TransferBook, policy: PolicyEnforcer, host_id: str, state_dir: Path):
        self.book, self.policy, self.host_id, self.state_dir = book, policy, host_id, state_dir
        self.last, self.connected, self.failing = 0.0, frozenset[str](), False
        self._tls: tuple[str, ssl.SSLContext | None] = ("", None)  # dist_id whose certificate it shows

    def context(self, transfer: Transfer) -> ssl.SSLContext | None:
        """TLS that checks the master and shows this host's certificate for ``transfer``'s swarm."""
        if not transfer.record.tracker.startswith("https:"):
            return None
        if self._tls[0] != transfer.dist_id:
            cert_file = self.state_dir / "wan-client.pem"  # public data; ssl loads certificates from files
            write_atomic(cert_file, transfer.record.tls_cert.encode())
            client = (cert_file, self.state_dir / "tls.key") if transfer.record.tls_cert else None
            self._tls = (transfer.dist_id, mastertls.client_context(mastertls.swarm_ca(transfer), client))
        return self._tls[1]

    def step(self) -> None:
        if not self.policy.wants_wan_share():
            return
        with_peers = [t for t in self.book.all() if t.record.tracker and t.handle.status().num_peers > 0]
        now_connected = frozenset(t.dist_id for t in with_peers)
        due = time.monotonic() - self.last >= POLL_S or not now_connected <= self.connected
        self.connected = now_connected
        if not with_peers or not due:
            return
        self.last = time.monotonic()
        try:
            self.policy.set_wan_share(ask(with_peers[0], self.host_id, self.context(with_peers[0])))
            self.failing = False
        except (OSError, ValueError, KeyError) as exc:
            if not self.failing:  # once per outage, not every POLL_S
                log.warning("no WAN share from the master's tracker, keeping the last one: %s", exc)
            self.failing = True


def wan_share_loop(poller: SharePoller, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        try:
            poller.step()
        except Exception:  # a transfer removed mid-step, a libtorrent hiccup: try again next second
            log.exception("asking for the WAN share failed")
