"""Asking the master's tracker for this host's part of its site's WAN cap.

Only a host whose policy has a site ``wan_rate`` asks, and only while one of
its transfers has peers: every ``POLL_S`` seconds, and at once when a transfer
gets its first peers (the announce that gave a fetcher remote peers also made
it one of the site's hosts on the WAN). Until the first answer, and while the
tracker cannot be reached, the host keeps what it had (at first, the whole cap:
the per-host limit, so a master that is down does not stop a site).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.wanshare import WanShare

if TYPE_CHECKING:
    from salt_p2pdist.agent.engine import Engine

log = logging.getLogger(__name__)
POLL_S = 5.0


def share_url(transfer: Transfer, host_id: str) -> str:
    parts = urlsplit(transfer.record["tracker"])
    query = {"minion": host_id, "info_hash": transfer.meta.info_hash, "auth": transfer.record.get("auth", "")}
    return f"{parts.scheme}://{parts.netloc}/wan?{urlencode(query)}"


def ask(transfer: Transfer, host_id: str) -> WanShare:
    """One question to the tracker. Raises OSError or ValueError."""
    try:
        with urllib.request.urlopen(share_url(transfer, host_id), timeout=5) as resp:
            body = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise ValueError(json.loads(exc.read() or b"{}").get("error", str(exc))) from exc
    return WanShare(str(body["site"]), bool(body["on_wan"]), int(body["hosts"]), float(body["fraction"]))


class SharePoller:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.last, self.connected, self.failing = 0.0, frozenset[str](), False

    def step(self) -> None:
        engine = self.engine
        if not engine.policy.wants_wan_share():
            return
        with_peers = [t for t in list(engine.transfers.values())
                      if t.record.get("tracker") and t.handle.status().num_peers > 0]
        now_connected = frozenset(t.dist_id for t in with_peers)
        due = time.monotonic() - self.last >= POLL_S or not now_connected <= self.connected
        self.connected = now_connected
        if not with_peers or not due:
            return
        self.last = time.monotonic()
        try:
            engine.policy.set_wan_share(ask(with_peers[0], engine.cfg.host_id))
            self.failing = False
        except (OSError, ValueError, KeyError) as exc:
            if not self.failing:  # once per outage, not every POLL_S
                log.warning("no WAN share from the master's tracker, keeping the last one: %s", exc)
            self.failing = True


def wan_share_loop(engine: Engine) -> None:
    poller = SharePoller(engine)
    while not engine._stop.wait(1.0):
        try:
            poller.step()
        except Exception:  # a transfer removed mid-step, a libtorrent hiccup: try again next second
            log.exception("asking for the WAN share failed")
