"""Asking the master's tracker for this host's part of its site's WAN cap.

A host asks while one of its transfers has peers and either its policy has a
site ``wan_rate`` or one of them downloads with a peer outside its site (a WAN
fetcher: the answer also names the torrents it holds back for priority,
holding.py; hosts fed over the LAN never ask, so the tracker hears from about
one host per site and swarm, not from every downloading host): every ``POLL_S`` seconds, and
at once when a transfer gets its first peers (the announce that gave a fetcher remote peers also made
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
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from salt_p2pdist.agent import mastertls
from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.downlimit import DownloadLimits
from salt_p2pdist.agent.enforcer import PolicyEnforcer
from salt_p2pdist.agent.holding import Holds
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.files.atomic import write_atomic
from salt_p2pdist.tracker.wanshare import WanShare

log = logging.getLogger(__name__)
POLL_S = 5.0


def share_url(transfer: Transfer, host_id: str, capped: bool = True) -> str:
    """``capped=False``: this host has no WAN cap and asks only what it holds back (takes no part)."""
    parts = urlsplit(transfer.record.tracker)
    query = {"minion": host_id, **({} if capped else {"capped": "0"})}
    return f"{parts.scheme}://{parts.netloc}/wan?{urlencode(query)}"


def ask(transfer: Transfer, host_id: str, ctx: ssl.SSLContext | None, capped: bool = True) -> WanShare:
    """One question to the tracker. Raises OSError or ValueError."""
    body = mastertls.call(share_url(transfer, host_id, capped), ctx, timeout=5)
    held = body.get("held") or {}  # a tracker before priorities does not say
    return WanShare(str(body["site"]), bool(body["on_wan"]), int(body["hosts"]), float(body["fraction"]),
                    held={str(k): str(v) for k, v in held.items()} if isinstance(held, dict) else {})


class SharePoller:
    def __init__(self, book: TransferBook, policy: PolicyEnforcer, host_id: str, state_dir: Path,
                 limits: DownloadLimits | None = None):
        self.book, self.policy, self.host_id, self.state_dir = book, policy, host_id, state_dir
        self.holds = Holds(book, limits)
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
        statuses = [(t, t.handle.status()) for t in self.book.all() if t.record.tracker]
        with_peers = [t for t, st in statuses if st.num_peers > 0]
        downloading = any(st.num_peers > 0 and not st.is_seeding and t.ledger is not None
                          and t.ledger.wan_peers for t, st in statuses)
        wants_share = self.policy.wants_wan_share()
        if not wants_share and not downloading:
            self.holds.set({})  # nothing downloads: nothing to hold back
            return
        self.holds.apply()  # a torrent re-added since the last answer gets its limit again
        now_connected = frozenset(t.dist_id for t in with_peers)
        due = time.monotonic() - self.last >= POLL_S or not now_connected <= self.connected
        self.connected = now_connected
        if not with_peers or not due:
            return
        self.last = time.monotonic()
        try:
            share = ask(with_peers[0], self.host_id, self.context(with_peers[0]), capped=wants_share)
            if wants_share:
                self.policy.set_wan_share(replace(share, held={}))
            self.holds.set(share.held)
            self.failing = False
        except (OSError, ValueError, KeyError) as exc:
            self.holds.set({})  # no word from the master: nothing is held back (all flows, as before)
            if not self.failing:  # once per outage, not every POLL_S
                log.warning("no WAN share from the master's tracker, keeping the last one: %s", exc)
            self.failing = True


def wan_share_loop(poller: SharePoller, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        try:
            poller.step()
        except RuntimeError as exc:  # libtorrent's "invalid handle": a transfer removed mid-step
            log.debug("WAN share step skipped, a transfer went meanwhile: %s", exc)
        except Exception:  # a libtorrent hiccup: try again next second, but say so
            log.exception("asking for the WAN share failed")
