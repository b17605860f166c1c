"""WAN fetchers: the few hosts of a site that fetch across its WAN link.

Chosen by the master's tracker, per swarm and site. A fetcher that leaves
(stops announcing) or stalls (no progress for ``stall_after`` seconds) is
replaced; a stalled host is benched for a while so it is not chosen straight
back. A site with an incomplete host always has a fetcher: it never starves.

A fetcher that completes keeps its seat: it serves its site from the LAN, and
no site-mate pulls a second copy over the WAN. But only while that works: an
incomplete site-mate that makes no progress for ``starve_after`` seconds (the
complete host's copy rotted and was banned, or it cannot serve) takes the seat
and gets remote peers itself. A complete fetcher that says goodbye (it
removes its download to move it into place, then adds it again as a seed)
keeps its seat for a grace period, so no site-mate is elected in that gap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from salt_p2pdist.tracker.handout import Peer


@dataclass
class WanFetchers:
    per_site: int = 1
    stall_after: float = 60.0
    starve_after: float = 60.0  # site-mate of a complete fetcher without progress: takes the seat
    by_site: dict[str, list[str]] = field(default_factory=dict)
    # host -> (fewest bytes left seen, when that last went down)
    progress: dict[str, tuple[int, float]] = field(default_factory=dict)
    benched: dict[str, float] = field(default_factory=dict)  # host -> benched until
    held: dict[str, float] = field(default_factory=dict)  # absent complete host -> seat kept until

    def observe(self, peer: Peer, now: float) -> None:
        left, _since = self.progress.get(peer.host_id, (None, now))
        if left is None or peer.left < left:
            self.progress[peer.host_id] = (peer.left, now)

    def forget(self, host_id: str) -> None:
        self.progress.pop(host_id, None)
        self.held.pop(host_id, None)
        for hosts in self.by_site.values():
            if host_id in hosts:
                hosts.remove(host_id)

    def hold(self, host_id: str, until: float) -> None:
        """A complete fetcher left for a moment (moving its copy into place): keep its seat."""
        if host_id in self.all():
            self.held[host_id] = until

    def idle_for(self, peer: Peer, now: float) -> float:
        _left, since = self.progress.get(peer.host_id, (peer.left, now))
        return now - since

    def _stalled(self, peer: Peer, now: float) -> bool:
        return not peer.complete and self.idle_for(peer, now) > self.stall_after

    def _keeps_seat(self, host: str, members: Mapping[str, Peer], starving: list[Peer],
                    now: float) -> bool:
        peer = members.get(host)
        if peer is None:  # gone; a complete one that said goodbye keeps its seat a while
            return self.held.get(host, 0) > now
        self.held.pop(host, None)
        if peer.complete:  # serves its site from the LAN, as long as that works
            return not starving
        if self._stalled(peer, now):
            self.benched[host] = now + self.stall_after
            self.progress[host] = (peer.left, now)  # its clock restarts when benched
            return False
        return True

    def elect(self, site: str, members: Mapping[str, Peer], now: float) -> list[str]:
        """The site's fetchers after dropping the gone, the stalled and the useless complete."""
        seated = self.by_site.get(site, [])
        starving = [p for p in members.values() if not p.complete and p.host_id not in seated
                    and self.idle_for(p, now) > self.starve_after]
        current = [h for h in seated if self._keeps_seat(h, members, starving, now)]
        for host in set(self.held) - set(current):
            if host in seated:
                del self.held[host]
        incomplete = [p for p in members.values() if not p.complete and p.host_id not in current]
        rested = [p for p in incomplete if self.benched.get(p.host_id, 0) <= now]
        # Never starve: if every candidate is benched, take one anyway.
        pool = rested or incomplete
        hungry = {p.host_id for p in starving}
        # the starving first, then most progress, then stable
        pool.sort(key=lambda p: (p.host_id not in hungry, p.left, p.host_id))
        while len(current) < self.per_site and pool:
            chosen = pool.pop(0)
            # Judge it from now on: until elected it had no remote peers to progress from.
            self.progress[chosen.host_id] = (chosen.left, now)
            current.append(chosen.host_id)
        self.by_site[site] = current
        return current

    def all(self) -> frozenset[str]:
        return frozenset(h for hosts in self.by_site.values() for h in hosts)
