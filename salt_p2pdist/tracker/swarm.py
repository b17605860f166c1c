"""One swarm in the tracker's table: who may join it, who is in it, and how a host leaves it.

:mod:`salt_p2pdist.tracker.tracker` keeps one per distribution the master
registered and decides across them (admission, hand-out, intervals, the WAN
cap); a swarm only keeps its own members and WAN seats consistent.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from salt_p2pdist.core.priority import DEFAULT as DEFAULT_PRIORITY
from salt_p2pdist.tracker.announce import Announce, Holder, TrackerError
from salt_p2pdist.tracker.fetchers import WanFetchers
from salt_p2pdist.tracker.handout import Peer


@dataclass
class Swarm:
    """One registered distribution: who may join, and who is in it."""

    allowed: frozenset[str]
    origin_port: int  # the master's seeding port; 0 when the origin no longer seeds
    fetchers: WanFetchers
    peers: dict[str, Peer] = field(default_factory=dict)
    torrent_name: str = ""  # what certificates for this swarm are issued for
    # When the swarm goes quiet (wall-clock time the master set; None: it does not):
    # from then on a holder's announce is answered QUIET_REASON and it leaves the table.
    quiet_at: float | None = None
    announces: int = 0  # announces answered since the tracker started (status shows it)
    priority: str = DEFAULT_PRIORITY  # urgent, normal or background (core/priority.py)
    # Targets the master placed in good-uplink sites (host -> site) that have not announced
    # yet, and until when a weak site's fetcher waits for them (routes.py, RELAY_WAIT).
    relays: dict[str, str] = field(default_factory=dict)
    relays_until: float = float("-inf")
    # ``peers`` by site, and its complete ones by site: an announce looks at its own site and
    # at the other sites, not at every host (10,000 hosts cost 3.8 ms per announce that way).
    # Change ``peers`` only through put, pop and drop, which keep these in step.
    _by_site: dict[str, dict[str, Peer]] = field(default_factory=dict, repr=False)
    _seeds: dict[str, dict[str, Peer]] = field(default_factory=dict, repr=False)
    _expired_at: float = float("-inf")

    def is_quiet(self, now: float) -> bool:
        return self.quiet_at is not None and now >= self.quiet_at

    def needs_origin(self, wall_now: float, now: float, peer_ttl: float) -> bool:
        """Should the origin hold this swarm's torrent open? While the swarm is not quiet, and
        while a host fetches in it (heard from within ``peer_ttl``): a newcomer whose holders
        the master could not wake has only the origin. ``wall_now`` is for the master's quiet
        time, ``now`` the tracker's clock of the hosts' announces."""
        return not self.is_quiet(wall_now) or any(
            not p.complete and now - p.last_seen < peer_ttl for p in self.peers.values())

    def check_holder(self, holder: Holder | None, host_id: str) -> None:
        """In a closed swarm: refuse an announce for ``host_id`` that ``holder`` does not prove."""
        if holder is None:
            raise TrackerError(f"announce for {host_id} without a certificate from this master: "
                               "a host must be certified by the master first")
        if holder.host_id != host_id:
            raise TrackerError(f"{holder.host_id}'s certificate cannot announce for {host_id}")
        if holder.torrent_name != self.torrent_name:
            raise TrackerError(f"{host_id}'s certificate is for another swarm")

    def awaits_relay(self, now: float) -> bool:
        """A relay the master placed among the targets is still to announce, and worth waiting for."""
        return bool(self.relays) and now < self.relays_until

    def put(self, peer: Peer) -> None:
        """``peer``'s entry, new or renewed."""
        self.relays.pop(peer.host_id, None)
        self.pop(peer.host_id)
        self.peers[peer.host_id] = peer
        self._by_site.setdefault(peer.site, {})[peer.host_id] = peer
        if peer.complete:
            self._seeds.setdefault(peer.site, {})[peer.host_id] = peer

    def pop(self, host_id: str) -> None:
        """``host_id``'s entry goes; a WAN seat it holds stays (see ``stopped``)."""
        old = self.peers.pop(host_id, None)
        if old is None:
            return
        for index in (self._by_site, self._seeds):
            hosts = index.get(old.site, {})
            hosts.pop(host_id, None)
            if not hosts:
                index.pop(old.site, None)

    def drop(self, host_id: str) -> None:
        """``host_id`` leaves: its entry goes, and with it any WAN seat it held."""
        self.pop(host_id)
        self.fetchers.forget(host_id)

    def members(self, site: str) -> Mapping[str, Peer]:
        """The hosts of ``site`` in the swarm (not to be changed)."""
        return self._by_site.get(site, {})

    def candidates(self, me: Peer, want: int, rng: random.Random) -> list[Peer]:
        """Whom the hand-out (handout.py) may choose from for ``me``: its site's hosts, and only
        what it may get from other sites: a seed, their WAN fetchers; a WAN fetcher, their
        fetchers and at most ``want`` of each one's seeds (it gets ``want`` at most); any other
        host, nothing. So an announce reads its own site and the sites, not every host."""
        out = list(self.members(me.site).values())
        seats = self.fetchers.by_site
        if not me.complete and me.host_id not in seats.get(me.site, ()):
            return out
        for site, hosts in seats.items():
            if site != me.site:
                out += [self.peers[h] for h in hosts if h in self.peers and not self.peers[h].complete]
        if me.complete:
            return out
        for site, seeds in self._seeds.items():
            if site != me.site:
                out += seeds.values() if len(seeds) <= want else rng.sample(list(seeds.values()), want)
        return out

    def expire(self, now: float, peer_ttl: float, every: float = 1.0) -> None:
        """Drop every host not heard from for ``peer_ttl`` seconds (looked for once in ``every``
        seconds: each look reads the whole swarm)."""
        if now - self._expired_at < every:
            return
        self._expired_at = now
        for host in [h for h, p in self.peers.items() if now - p.last_seen >= peer_ttl]:
            self.drop(host)

    def stopped(self, a: Announce, now: float, seat_grace: float) -> None:
        """A host's goodbye (event "stopped"); a complete WAN fetcher keeps its seat ``seat_grace`` s."""
        known = self.peers.get(a.host_id)
        if known is not None and known.peer_id and a.peer_id and known.peer_id != a.peer_id:
            return  # a late goodbye from a handle the host has already replaced: it is here
        complete = a.left == 0 or (known is not None and known.complete)  # its "completed" counts too
        if complete and a.host_id in self.fetchers.all():
            # A complete fetcher, most likely moving its copy into place: back in a moment.
            self.pop(a.host_id)
            self.fetchers.hold(a.host_id, now + seat_grace)
        else:
            self.drop(a.host_id)
