"""The swarm tracker, sans I/O: take an announce, update the swarm, answer.

The origin's HTTP server feeds raw query strings in (parsed by
:mod:`salt_p2pdist.tracker.announce`) and writes the returned bytes out.
Only swarms the master registered are served (private torrents from this
master), and only hosts the master ordered may join them. In a closed swarm
a host proves who it is with the TLS client certificate the master issued
it for that swarm (libtorrent presents it to an https tracker).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace

from salt_p2pdist.core.priority import BACKGROUND
from salt_p2pdist.core.priority import DEFAULT as DEFAULT_PRIORITY
from salt_p2pdist.core.quiet import QUIET_REASON
from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.core.wanlinks import Wan
from salt_p2pdist.tracker.announce import Announce, Holder, TrackerError, answer, parse_announce, refusal
from salt_p2pdist.tracker.fetchers import WanFetchers
from salt_p2pdist.tracker.handout import ORIGIN_SITE, Peer, select_peers
from salt_p2pdist.tracker.intervals import FLOOR_S, IntervalRule
from salt_p2pdist.tracker.priorities import HeldSwarms, dist_id_of
from salt_p2pdist.tracker.routes import RELAY_WAIT, WanRoutes
from salt_p2pdist.tracker.swarm import Swarm
from salt_p2pdist.tracker.wanshare import WanExposure, WanGrants, WanShare

ORIGIN_ID = "origin"
log = logging.getLogger(__name__)


class Tracker:
    """Swarm table plus hand-out. ``clock`` and ``rng`` are injected for tests."""

    def __init__(self, *, interval: int = 30, peer_ttl: float = 150,
                 clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None,
                 known_host: Callable[[str], bool] = lambda _host: False,
                 sites: SiteMap | None = None, fetchers_per_site: int = 1,
                 stall_after: float = 60.0, require_cert: bool = False,
                 seat_grace: float = 30.0, wan: Wan | None = None, announce_budget: float = 50.0,
                 wall_clock: Callable[[], float] = time.time):
        # known_host admits hosts the master knows (accepted minion keys) that
        # were not push targets: a p2pdist.present state applied from the master.
        self.known_host = known_host
        self.sites = sites or SiteMap()
        # The WAN's shape and rates (p2pdist:wan, hq, sites' down/up): who may relay to whom.
        self.routes = WanRoutes(wan or Wan())
        self.fetchers_per_site = fetchers_per_site
        self.stall_after = stall_after
        # Closed swarms: an announce must come with the host's certificate for
        # that swarm (a bare minion id, or any copied string, proves nothing).
        self.require_cert = require_cert
        # A complete fetcher that says goodbye keeps its site's WAN seat this
        # long: the agent removes a finished download and adds it again as a
        # seed from dest, and a site-mate must not be elected in that gap.
        self.seat_grace = seat_grace
        self.interval = interval
        # Downloading hosts come back sooner, within a budget of announces/s (intervals.py).
        self.intervals = IntervalRule(seed_interval=interval, budget=announce_budget)
        self.peer_ttl = peer_ttl
        self._clock = clock
        self.wall_clock = wall_clock  # the master's quiet times are wall-clock times
        self._rng = rng or random.Random()
        self.swarms: dict[bytes, Swarm] = {}
        self.wan = WanExposure(hold=2.5 * interval)  # who shares each site's WAN cap
        self.wan_grants = WanGrants()
        self._on_wan: tuple[float, dict[str, set[str]]] = (-1.0, {})
        self.held = HeldSwarms()  # which swarms yield on which WAN link (priorities.py)

    def register(self, info_hash20: bytes, allowed: frozenset[str], origin_port: int,
                 torrent_name: str = "", priority: str = "", relays: Mapping[str, str] | None = None) -> None:
        """A swarm the origin seeds (or keeps); ``priority`` "" keeps a known swarm's level.
        ``relays``: targets the master placed in good-uplink sites (host -> site) at a push,
        waited for by weak sites' fetchers (routes.py)."""
        swarm = self.swarms.get(info_hash20)
        if swarm is None:
            # A site-mate of a complete fetcher is fed over the LAN: a few of
            # its (short) announce intervals without progress mean that does not work.
            starve_after = min(self.stall_after, 4.0 * FLOOR_S)
            self.swarms[info_hash20] = Swarm(allowed, origin_port, WanFetchers(
                self.fetchers_per_site, self.stall_after, starve_after), torrent_name=torrent_name,
                priority=priority or DEFAULT_PRIORITY)
        else:
            swarm.allowed, swarm.origin_port = allowed, origin_port
            swarm.torrent_name = torrent_name or swarm.torrent_name
            swarm.priority = priority or swarm.priority
        if relays:
            swarm = self.swarms[info_hash20]
            swarm.relays = {h: site for h, site in relays.items() if h not in swarm.peers}
            swarm.relays_until = self._clock() + RELAY_WAIT
            log.info("%s: weak-uplink sites wait up to %.0f s for %d relay host(s) of %s to announce",
                     info_hash20.hex()[:16], RELAY_WAIT, len(swarm.relays),
                     sorted(set(swarm.relays.values())))

    def may_join(self, swarm: Swarm, host_id: str) -> bool:
        return host_id in swarm.allowed or self.known_host(host_id)

    def unregister(self, info_hash20: bytes) -> None:
        self.swarms.pop(info_hash20, None)
        self.wan.forget(info_hash20)

    def announce(self, a: Announce, origin_ip: str, holder: Holder | None = None) -> list[Peer]:
        """Record the announce and return the peers to hand out.

        ``origin_ip`` is the tracker's own address as the client reached it,
        which is the address at which that client can reach the origin too.
        ``holder`` is whom the connection's verified client certificate names.
        """
        swarm = self.swarms.get(a.info_hash20)
        if swarm is None:
            raise TrackerError("unknown torrent: not distributed by this master")
        if not self.may_join(swarm, a.host_id):
            raise TrackerError(f"{a.host_id} is not a target of this distribution")
        if self.require_cert:
            swarm.check_holder(holder, a.host_id)
        swarm.announces += 1
        now = self._clock()
        swarm.expire(now, self.peer_ttl)
        if a.event == "stopped":
            swarm.stopped(a, now, self.seat_grace)
            return []
        if a.left == 0 and swarm.is_quiet(self.wall_clock()):  # a newcomer is still served
            swarm.drop(a.host_id)
            raise TrackerError(QUIET_REASON)
        me = Peer(a.host_id, a.ip, a.port, a.left, now, self.sites.site_of(a.host_id, a.ip),
                  a.peer_id)
        swarm.put(me)
        swarm.fetchers.observe(me, now)
        site_members = swarm.members(me.site)
        before = list(swarm.fetchers.by_site.get(me.site, []))
        if dist_id_of(a.info_hash20) in self.held_sites().get(me.site, {}):
            swarm.fetchers.excuse(before, site_members, now)  # held back by priority, not stalled
        # A background swarm's fetcher yields to the office's traffic on purpose: not slow.
        after = swarm.fetchers.elect(me.site, site_members, now, announcer=a.host_id,
                                     judge_pace=swarm.priority != BACKGROUND)
        if after != before:  # who fetches across a site's WAN link, in the origin's log
            self.held.at = -1.0  # who needs which link changed: a host asking now learns it
            log.info("%s: site %s's WAN fetchers %s -> %s", a.info_hash20.hex()[:16], me.site or "-",
                     before, after)
        seated = a.host_id in after
        self.intervals.recount(now, self._downloading())
        me = replace(me, interval=self.intervals.interval(left=a.left, seated=seated))
        swarm.put(me)
        candidates = swarm.candidates(me, a.numwant, self._rng)
        if swarm.origin_port:
            candidates.append(Peer(ORIGIN_ID, origin_ip, swarm.origin_port, 0, now, ORIGIN_SITE))
        # A weak-uplink site's fetcher without progress for a while also gets the origin (routes.py).
        hungry = swarm.fetchers.idle_for(me, now) > swarm.fetchers.starve_after
        handed = select_peers(me, candidates, fetchers=swarm.fetchers.all(),
                              nearness=self.sites.nearness, want=a.numwant, rng=self._rng,
                              routes=self.routes, hungry=hungry, awaited=swarm.awaits_relay(now))
        self.wan.record(a.info_hash20, me, handed, now)
        return handed

    def _downloading(self) -> Iterator[bool]:
        """For each downloading host in each swarm: is it in a WAN seat? (Lazy: counted once a second.)"""
        for swarm in self.swarms.values():
            seats = swarm.fetchers.all()
            yield from (h in seats for h, p in swarm.peers.items() if not p.complete)

    def needing_origin(self) -> dict[str, bool]:
        """Dist id -> should the origin hold its swarm's torrent open (Swarm.needs_origin)?"""
        wall_now, now = self.wall_clock(), self._clock()
        return {dist_id_of(k): s.needs_origin(wall_now, now, self.peer_ttl) for k, s in self.swarms.items()}

    def interval_of(self, info_hash20: bytes, host_id: str) -> int:
        """The announce interval ``host_id`` was last given in that swarm (the seeds' if unknown)."""
        swarm = self.swarms.get(info_hash20)
        known = swarm.peers.get(host_id) if swarm else None
        return int(known.interval) if known and known.interval else self.interval

    def held_sites(self) -> dict[str, dict[str, str]]:
        """Site -> (dist id -> the higher one it yields to there), at most a second old."""
        return self.held.now(self.swarms, self._clock(), self.wall_clock())

    def fetchers(self, info_hash20: bytes) -> dict[str, list[str]]:
        """Each site's current WAN fetchers in one swarm (for status)."""
        swarm = self.swarms.get(info_hash20)
        return {s: list(h) for s, h in swarm.fetchers.by_site.items() if h} if swarm else {}

    def wan_share(self, host_id: str, ip: str, holder: Holder | None = None, capped: bool = True) -> WanShare:
        """How many hosts of ``host_id``'s site trade across the WAN now (for its WAN cap), and what it
        holds back for priority. Only a ``capped`` host takes a part of the cap. In closed swarms
        only a certified host may ask, with its certificate for one of its swarms."""
        if self.require_cert and not (holder and holder.host_id == host_id and any(
                s.torrent_name == holder.torrent_name and self.may_join(s, host_id)
                for s in self.swarms.values())):
            raise TrackerError(f"WAN share for {host_id} without {host_id}'s certificate for a swarm")
        now = self._clock()
        if now - self._on_wan[0] >= 1.0:  # polled by every capped host: compute once a second
            self._on_wan = (now, self.wan.on_wan({k: s.peers for k, s in self.swarms.items()}, now))
        known = [s.peers[host_id].site for s in self.swarms.values() if host_id in s.peers]
        site = known[0] if known else self.sites.site_of(host_id, ip)
        self.held_sites()  # hosts that only hold back leave the cap to the others
        hosts = self._on_wan[1].get(site, set())
        hosts, held = hosts - self.held.yielding(self.swarms, hosts), self.held.for_host(self.swarms, host_id)
        part = self.wan_grants.grant(site, host_id, hosts, now) if capped else 0.0
        return WanShare(site, host_id in hosts, len(hosts), part, held=held)

    def respond(self, query: str, source_ip: str, origin_ip: str, holder: Holder | None = None) -> bytes:
        """Bencoded answer to one HTTP announce (a failure reason on refusal)."""
        try:
            a = parse_announce(query, source_ip)
            peers = self.announce(a, origin_ip, holder)
        except TrackerError as exc:
            return refusal(str(exc), self.interval)  # with the interval: announce.refusal says why
        return answer(peers, self.interval_of(a.info_hash20, a.host_id))
