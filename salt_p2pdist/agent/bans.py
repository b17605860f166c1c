"""Keeping a peer that sent corrupt data out for good.

libtorrent bans the peer entry (address and port) that sent a piece which
failed its hash. A seed that connects *to us* comes from a new ephemeral port
each time, so it is a new entry, not banned: a corrupt seed came back every
announce, spoiled one more piece, and each piece it shared with a good peer
cost that good peer trust until libtorrent banned the origin too and the
fetch stalled. Blocking the address in the session's IP filter ends the loop.

The origin (the tracker's host) is never blocked: it serves the content it
hashed itself, so a ban on it can only be collateral from a mixed piece.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)
BLOCKED = 1  # libtorrent ip_filter access flag


class BanList:
    def __init__(self, session: Any):
        self._session = session
        self._lock = threading.Lock()
        self.banned: dict[str, str] = {}  # ip -> the distribution it spoiled

    def ban(self, ip: str, dist_id: str, *, origin_hosts: set[str]) -> bool:
        """Block ``ip`` in the whole session; False if it is the origin or known."""
        if ip in origin_hosts:
            log.warning("%s: libtorrent banned the origin %s after a mixed bad piece", dist_id, ip)
            return False
        with self._lock:
            if ip in self.banned:
                return False
            self.banned[ip] = dist_id
            ip_filter = self._session.get_ip_filter()
            ip_filter.add_rule(ip, ip, BLOCKED)
            self._session.set_ip_filter(ip_filter)
        log.warning("%s: blocking peer %s, it sent data that failed its hash", dist_id, ip)
        return True

    def of(self, dist_id: str) -> list[str]:
        with self._lock:
            return sorted(ip for ip, d in self.banned.items() if d == dist_id)


def peer_ip(alert: Any) -> str:
    """The address of a peer alert (the bindings give an (ip, port) tuple)."""
    return str(alert.ip[0])
