"""The tracker's side of priorities: which swarms yield on which WAN link now.

The decision is core/priority.py's; this module reads the tracker's swarm
table into it. A swarm *needs* a site's WAN link while one of its WAN
fetchers there (fetchers.py) is incomplete; a quiet swarm needs nothing.
The answer goes out with each host's WAN share (``/wan``): a WAN fetcher of a
held swarm holds its download of that torrent back (agent/holding.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from salt_p2pdist.core import priority
from salt_p2pdist.tracker.fetchers import WanFetchers
from salt_p2pdist.tracker.handout import Peer


class Swarm(Protocol):
    """What this module reads of the tracker's swarm (tracker.Swarm)."""

    priority: str
    fetchers: WanFetchers
    peers: dict[str, Peer]
    origin_port: int

    def is_quiet(self, now: float) -> bool: ...


def dist_id_of(info_hash20: bytes) -> str:
    """The distribution id of a swarm key: the v2 info hash's first 16 hex digits."""
    return info_hash20.hex()[:16]


def needs(swarm: Swarm) -> set[str]:
    """Sites whose WAN link ``swarm`` needs now: one of its fetchers there is incomplete."""
    return {site for site, hosts in swarm.fetchers.by_site.items()
            if any(h in swarm.peers and not swarm.peers[h].complete for h in hosts)}


@dataclass
class HeldSwarms:
    """Site -> (dist id -> the dist id it yields to), recomputed at most once a second."""

    every: float = 1.0
    at: float = -1.0
    by_site: dict[str, dict[str, str]] = field(default_factory=dict)

    def now(self, swarms: Mapping[bytes, Swarm], now: float, wall_now: float) -> dict[str, dict[str, str]]:
        if now - self.at >= self.every:
            live = {dist_id_of(k): s for k, s in swarms.items() if not s.is_quiet(wall_now)}
            self.by_site = priority.held_by_site({d: s.priority for d, s in live.items()},
                                                 {d: needs(s) for d, s in live.items()})
            self.at = now
        return self.by_site

    def for_host(self, swarms: Mapping[bytes, Swarm], host_id: str) -> dict[str, str]:
        """The held swarms in which ``host_id`` is an incomplete WAN fetcher: what it holds back."""
        out: dict[str, str] = {}
        if not self.by_site:  # most of the time nothing is held: no walk over the swarms
            return out
        for key, swarm in swarms.items():
            me = swarm.peers.get(host_id)
            if me is None or me.complete:
                continue
            yields_to = self.by_site.get(me.site, {}).get(dist_id_of(key))
            if yields_to and host_id in swarm.fetchers.by_site.get(me.site, []):
                out[dist_id_of(key)] = yields_to
        return out

    def yielding(self, swarms: Mapping[bytes, Swarm], hosts: set[str]) -> set[str]:
        """Of ``hosts``, those whose every swarm is a held fetch: they leave the site's WAN cap
        to the others (a site's ``wan_rate`` is one total, and the higher swarm takes it)."""
        out: set[str] = set()
        if not self.by_site:
            return out
        for host in hosts:
            mine = [(dist_id_of(k), s.peers[host]) for k, s in swarms.items() if host in s.peers]
            if mine and all(not p.complete and d in self.by_site.get(p.site, {}) for d, p in mine):
                out.add(host)
        return out

    def sites_of(self, dist_id: str) -> dict[str, str]:
        """Site -> what ``dist_id`` yields to there (for status)."""
        return {site: held[dist_id] for site, held in self.by_site.items() if dist_id in held}


def held_at_origin(swarms: Mapping[bytes, Swarm], wall_now: float) -> dict[str, str]:
    """Dist id -> the dist id it yields to on the origin's uplink (which every site shares)."""
    live = {dist_id_of(k): s for k, s in swarms.items() if not s.is_quiet(wall_now) and s.origin_port}
    incomplete = [d for d, s in live.items() if needs(s)]
    return priority.held_at_origin({d: s.priority for d, s in live.items()}, incomplete)
