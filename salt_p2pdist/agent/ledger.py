"""Bytes received per source: own site, other sites, or the origin.

libtorrent has no per-class byte counters, and a peer's counters vanish when
its connection closes, so the agent samples every peer's totals and adds up
the increases. Our own site is judged by the local address of each connection
(or the host's site grain), which works on multi-homed hosts too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from salt_p2pdist.core.topology import SiteMap

BUCKETS = ("from_site", "from_remote", "from_origin")


@dataclass
class PeerLedger:
    sites: SiteMap
    host_id: str
    origin_ip: str = ""
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    own_site: str = ""  # as the master's site map places this host (learned from connections)
    wan_peers: bool = False  # at the last sample, connected to a peer outside its site (or the origin)
    _last: dict[tuple[str, int], int] = field(default_factory=dict)

    def bucket(self, peer_ip: str, local_ip: str) -> str:
        if peer_ip == self.origin_ip:
            return "from_origin"
        mine = self.own_site = self.sites.site_of(self.host_id, local_ip)
        return "from_site" if self.sites.site_of("", peer_ip) == mine else "from_remote"

    def sample(self, peers: Iterable[Any]) -> None:
        """Feed ``lt.peer_info`` objects (or anything with the same fields)."""
        seen, wan = {}, False
        for p in peers:
            key = (str(p.ip[0]), int(p.ip[1]))
            total = int(p.total_download)
            delta = total - self._last.get(key, 0)
            local = p.local_endpoint  # a method in the 2.1 bindings
            bucket = self.bucket(key[0], str((local() if callable(local) else local)[0]))
            wan = wan or bucket != "from_site"
            if delta > 0:
                self.totals[bucket] += delta
            seen[key] = total
        # A closed connection's count is final; a new one to the same peer starts at 0.
        self._last, self.wan_peers = seen, wan
