"""WAN fetchers: the few hosts of a site that fetch across its WAN link.

Chosen by the master's tracker, per swarm and site. A fetcher is replaced
when it leaves ("stopped"), when it misses its announces (silent for 1.5 of
the interval it was given, plus 2 s: it died; see intervals.py, which keeps fetchers'
intervals short), when it stalls (no progress for ``stall_after``
seconds), or when it slows down to a fraction of what its site has shown it
can do (pace.py). A stalled or slow host is benched for a while so it is
not chosen straight back. The seat goes to the site-mate whose announce finds it free: that
host gets remote peers in this very answer, where any other would wait for
its own next announce. A site with an incomplete host always has a fetcher.

A fetcher that completes keeps its seat: it serves its site from the LAN, and
no site-mate pulls a second copy over the WAN. But only while that works: an
incomplete site-mate that makes no progress while it is fed (``starve_after``,
or three of its own announce intervals if longer: progress is seen only at
announces) takes the seat and gets remote peers itself. Being fed counts
from when the complete fetcher is back in the swarm: it removes its download
to move it into place and adds it again as a seed, and that gap (its
"stopped" announce keeps its seat for a grace period, see ``hold``) is no
site-mate's fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from salt_p2pdist.tracker.handout import Peer
from salt_p2pdist.tracker.intervals import silent
from salt_p2pdist.tracker.pace import PaceWatch


@dataclass
class WanFetchers:
    per_site: int = 1
    stall_after: float = 60.0
    starve_after: float = 12.0  # site-mate of a complete fetcher without progress: takes the seat
    by_site: dict[str, list[str]] = field(default_factory=dict)
    # host -> (fewest bytes left seen, when that last went down)
    progress: dict[str, tuple[int, float]] = field(default_factory=dict)
    benched: dict[str, float] = field(default_factory=dict)  # host -> benched until
    held: dict[str, float] = field(default_factory=dict)  # absent complete host -> seat kept until
    fed_since: dict[str, float] = field(default_factory=dict)  # site -> its complete fetcher is back since
    handles: dict[str, str] = field(default_factory=dict)  # host -> peer id of its torrent handle
    pace: PaceWatch = field(default_factory=PaceWatch)

    def observe(self, peer: Peer, now: float) -> None:
        left, _since = self.progress.get(peer.host_id, (None, now))
        if left is None or peer.left < left:
            self.progress[peer.host_id] = (peer.left, now)
        if self.handles.get(peer.host_id, peer.peer_id) != peer.peer_id and peer.host_id in self.all():
            self.fed_since.pop(peer.site, None)  # re-added without a goodbye we heard: a gap
        self.handles[peer.host_id] = peer.peer_id
        self.pace.observe(peer.host_id, peer.site, peer.left, now)

    def forget(self, host_id: str) -> None:
        self.progress.pop(host_id, None)
        self.held.pop(host_id, None)
        self.handles.pop(host_id, None)
        self.pace.forget(host_id)
        for hosts in self.by_site.values():
            if host_id in hosts:
                hosts.remove(host_id)

    def hold(self, host_id: str, until: float) -> None:
        """A complete fetcher left for a moment (moving its copy into place): keep its seat."""
        if host_id in self.all():
            self.held[host_id] = until

    def excuse(self, hosts: list[str], members: Mapping[str, Peer], now: float) -> None:
        """Fetchers of a swarm held back by priority make no progress on purpose: not stalled."""
        for host in hosts:
            if host in members:
                self.progress[host] = (members[host].left, now)
                self.pace.excuse(host, now)

    def idle_for(self, peer: Peer, now: float) -> float:
        _left, since = self.progress.get(peer.host_id, (peer.left, now))
        return now - since

    def hungry(self, peer: Peer, now: float) -> bool:
        """An incomplete host fed by its site's complete fetcher that makes no progress."""
        fed = self.fed_since.get(peer.site)
        if peer.complete or fed is None:
            return False
        patience = min(self.stall_after, max(self.starve_after, 3 * peer.interval))
        return now - max(fed, now - self.idle_for(peer, now)) > patience

    def _stalled(self, peer: Peer, now: float) -> bool:
        return not peer.complete and self.idle_for(peer, now) > self.stall_after

    def _keeps_seat(self, host: str, members: Mapping[str, Peer], starving: list[Peer],
                    now: float, judge_pace: bool) -> bool:
        peer = members.get(host)
        if peer is None:  # gone; a complete one that said goodbye keeps its seat a while
            return self.held.get(host, 0) > now
        self.held.pop(host, None)
        if silent(peer.last_seen, peer.interval, now):
            return False  # it missed its announces: dead or cut off
        if peer.complete:  # serves its site from the LAN, as long as that works
            return not starving
        if self._stalled(peer, now) or (judge_pace and self.pace.slow(host, peer.site, peer.left)):
            self.benched[host] = now + self.stall_after
            self.progress[host] = (peer.left, now)  # its clock restarts when benched
            return False
        return True

    def _feeding(self, site: str, seated: list[str], members: Mapping[str, Peer], now: float) -> None:
        """Note since when the site's complete fetcher is in the swarm (the fed clock)."""
        away = any(h not in members for h in seated)
        if not away and any(members[h].complete for h in seated):
            self.fed_since.setdefault(site, now)
        else:
            self.fed_since.pop(site, None)

    def elect(self, site: str, members: Mapping[str, Peer], now: float, announcer: str = "",
              judge_pace: bool = True) -> list[str]:
        """The site's fetchers after dropping the gone, the silent, the stalled, the slow
        (``judge_pace``: not in a background swarm) and the useless complete."""
        seated = self.by_site.get(site, [])
        self._feeding(site, seated, members, now)
        starving = [p for p in members.values() if p.host_id not in seated and self.hungry(p, now)]
        current = [h for h in seated if self._keeps_seat(h, members, starving, now, judge_pace)]
        for host in set(self.held) - set(current):
            if host in seated:
                del self.held[host]
        incomplete = [p for p in members.values() if not p.complete and p.host_id not in current
                      and not silent(p.last_seen, p.interval, now)]
        rested = [p for p in incomplete if self.benched.get(p.host_id, 0) <= now]
        # Never starve: if every candidate is benched, take one anyway.
        pool = rested or incomplete
        hungry = {p.host_id for p in starving}
        # the starving first, then the announcer (it learns at once), then most progress, then stable
        pool.sort(key=lambda p: (p.host_id not in hungry, p.host_id != announcer, p.left, p.host_id))
        while len(current) < self.per_site and pool:
            chosen = pool.pop(0)
            # Judge it from now on: until elected it had no remote peers to progress from.
            self.progress[chosen.host_id] = (chosen.left, now)
            self.pace.seated(chosen.host_id, now)
            current.append(chosen.host_id)
        if current != seated:
            self.fed_since.pop(site, None)
        self.by_site[site] = current
        return current

    def all(self) -> frozenset[str]:
        return frozenset(h for hosts in self.by_site.values() for h in hosts)
