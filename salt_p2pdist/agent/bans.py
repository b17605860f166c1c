"""Keeping a peer that sent corrupt data out, for a time that doubles each time.

libtorrent bans the peer entry (address and port) that sent a piece which
failed its hash. A seed that connects *to us* comes from a new ephemeral port
each time, so it is a new entry, not banned: a corrupt seed came back every
announce, spoiled one more piece, and each piece it shared with a good peer
cost that good peer trust until libtorrent banned the origin too and the
fetch stalled. Blocking the address in the session's IP filter ends the loop.

The block expires, because libtorrent's ban is not proof: it also bans every
peer whose blocks shared enough failed pieces with the corrupt peer's (trust
points), and an honest site-mate blocked for good would be lost to this host,
for every distribution, until the agent restarts. A first block lasts
``FIRST_BLOCK_S``; each new ban of the same address doubles it, up to
``LONGEST_BLOCK_S``. An honest peer comes back after minutes; a corrupt one
spoils a piece or two each time it comes back, less and less often.

The origin (the tracker's host) is never blocked: it serves the content it
hashed itself, so a ban on it can only be collateral from a mixed piece.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
BLOCKED = 1  # libtorrent ip_filter access flag
FIRST_BLOCK_S = 600.0
LONGEST_BLOCK_S = 86_400.0


def block_time(times_before: int) -> float:
    """How long an address is blocked when it was blocked ``times_before`` times already."""
    return min(LONGEST_BLOCK_S, FIRST_BLOCK_S * 2.0 ** min(times_before, 32))


class BanList:
    def __init__(self, session: Any, clock: Callable[[], float] = time.monotonic):
        self._session, self._clock = session, clock
        self._lock = threading.Lock()
        self.banned: dict[str, str] = {}  # ip blocked now -> the distribution it spoiled
        self._until: dict[str, float] = {}  # ip blocked now -> when its block ends
        self._times: dict[str, int] = {}  # ip -> how often it was blocked since the agent started

    def ban(self, ip: str, dist_id: str, *, origin_hosts: set[str]) -> bool:
        """Block ``ip`` in the whole session; False if it is the origin or blocked already."""
        if ip in origin_hosts:
            log.warning("%s: libtorrent banned the origin %s after a mixed bad piece", dist_id, ip)
            return False
        with self._lock:
            if ip in self.banned:
                return False
            times = self._times.get(ip, 0)
            self._times[ip] = times + 1
            self.banned[ip], self._until[ip] = dist_id, self._clock() + block_time(times)
            self._set(ip, BLOCKED)
        log.warning("%s: blocking peer %s for %d min, it sent data that failed its hash",
                    dist_id, ip, block_time(times) // 60)
        return True

    def lift_due(self) -> dict[str, str]:
        """Unblock the addresses whose time is up; each one -> the distribution it was banned in."""
        now = self._clock()
        with self._lock:
            due = {ip: self.banned.pop(ip) for ip, until in list(self._until.items()) if until <= now}
            for ip in due:
                del self._until[ip]
                self._set(ip, 0)
        for ip, dist_id in due.items():
            log.warning("%s: unblocking peer %s: a peer that shared a failed piece with a corrupt "
                        "one is banned too; if it sends bad data again it is blocked twice as long",
                        dist_id, ip)
        return due

    def of(self, dist_id: str) -> list[str]:
        with self._lock:
            return sorted(ip for ip, d in self.banned.items() if d == dist_id)

    def _set(self, ip: str, access: int) -> None:
        ip_filter = self._session.get_ip_filter()
        ip_filter.add_rule(ip, ip, access)
        self._session.set_ip_filter(ip_filter)


def peer_ip(alert: Any) -> str:
    """The address of a peer alert (the bindings give an (ip, port) tuple)."""
    return str(alert.ip[0])
