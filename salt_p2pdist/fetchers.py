"""WAN fetchers: the few hosts of a site that fetch across its WAN link.

Chosen by the master's tracker, per swarm and site. A fetcher that leaves
(stops announcing) or stalls (no progress for ``stall_after`` seconds) is
replaced; a stalled host is benched for a while so it is not chosen straight
back. A site with an incomplete host always has a fetcher: it never starves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from salt_p2pdist.handout import Peer


@dataclass
class WanFetchers:
    per_site: int = 1
    stall_after: float = 60.0
    by_site: dict[str, list[str]] = field(default_factory=dict)
    # host -> (fewest bytes left seen, when that last went down)
    progress: dict[str, tuple[int, float]] = field(default_factory=dict)
    benched: dict[str, float] = field(default_factory=dict)  # host -> benched until

    def observe(self, peer: Peer, now: float) -> None:
        left, _since = self.progress.get(peer.host_id, (None, now))
        if left is None or peer.left < left:
            self.progress[peer.host_id] = (peer.left, now)

    def forget(self, host_id: str) -> None:
        self.progress.pop(host_id, None)
        for hosts in self.by_site.values():
            if host_id in hosts:
                hosts.remove(host_id)

    def _stalled(self, peer: Peer, now: float) -> bool:
        _left, since = self.progress.get(peer.host_id, (peer.left, now))
        return not peer.complete and now - since > self.stall_after

    def elect(self, site: str, members: Mapping[str, Peer], now: float) -> list[str]:
        """The site's fetchers after dropping the gone and the stalled."""
        current = []
        for host in self.by_site.get(site, []):
            peer = members.get(host)
            if peer is None:
                continue
            if self._stalled(peer, now):
                self.benched[host] = now + self.stall_after
                self.progress[host] = (peer.left, now)  # its clock restarts when benched
                continue
            current.append(host)
        incomplete = [p for p in members.values() if not p.complete and p.host_id not in current]
        rested = [p for p in incomplete if self.benched.get(p.host_id, 0) <= now]
        # Never starve: if every candidate is benched, take one anyway.
        pool = rested or incomplete
        pool.sort(key=lambda p: (p.left, p.host_id))  # most progress first, then stable
        while len(current) < self.per_site and pool:
            chosen = pool.pop(0)
            # Judge it from now on: until elected it had no remote peers to progress from.
            self.progress[chosen.host_id] = (chosen.left, now)
            current.append(chosen.host_id)
        self.by_site[site] = current
        return current

    def all(self) -> frozenset[str]:
        return frozenset(h for hosts in self.by_site.values() for h in hosts)
