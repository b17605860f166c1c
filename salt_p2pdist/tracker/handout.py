"""Peer hand-out: which peers a tracker gives to a host that announces.

Pure functions, so locality policies are tested without sockets. libtorrent
does not connect in the order a tracker lists peers, so the policy hands out
a *filtered* set, not a sorted one:

- every host gets the peers of its own site (the LAN is cheap);
- only its site's WAN fetchers (see :mod:`salt_p2pdist.tracker.fetchers`) also get
  remote peers: the origin, the other sites' fetchers and seeds, nearest
  first, ahead of local ones so a big site cannot crowd them out. Seeds
  also get the other sites' fetchers (seeds download nothing). No other
  host of a site learns a remote address, so each piece crosses the site's
  WAN link about once.

What the WAN's shape and rates change (hub: no trading between branches;
weak uplinks: not a source for other sites) is in :mod:`salt_p2pdist.tracker.routes`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from salt_p2pdist.core.topology import SAME_SITE
from salt_p2pdist.tracker.routes import ORIGIN_SITE, WanRoutes, per_site


@dataclass(frozen=True)
class Peer:
    """A host in a swarm, as the tracker knows it."""

    host_id: str  # minion id, or "origin" for the master's seeder
    ip: str
    port: int
    left: int  # bytes still missing; 0 for a seed
    last_seen: float
    site: str = ""
    peer_id: str = ""  # of the torrent handle that announced (libtorrent draws one per handle)
    interval: float = 0.0  # the announce interval it was given (0: none, it never misses one)

    @property
    def complete(self) -> bool:
        return self.left == 0


def select_peers(
    requester: Peer,
    candidates: Iterable[Peer],
    *,
    fetchers: frozenset[str],
    nearness: Callable[[str, str], int],
    want: int,
    rng: random.Random,
    routes: WanRoutes | None = None,
    hungry: bool = False,
    awaited: bool = False,
) -> list[Peer]:
    """Up to ``want`` peers for ``requester``: its site's, plus remote ones if it fetches or seeds."""
    pool = [p for p in candidates if p.host_id != requester.host_id]
    if requester.complete:  # seeds do not trade with seeds
        pool = [p for p in pool if not p.complete]
    near = per_site(lambda site: nearness(requester.site, site))
    local = [p for p in pool if near(p.site) == SAME_SITE]
    remote: list[Peer] = []
    # A host that downloads nothing (a seed) may trade across the WAN like a fetcher.
    if requester.host_id in fetchers or requester.complete:
        remote = [p for p in pool if near(p.site) != SAME_SITE
                  and (p.host_id in fetchers or p.complete or p.site == ORIGIN_SITE)]
        if routes is not None:
            remote = routes.remote(requester.site, requester.complete, remote, hungry, awaited)
        rng.shuffle(remote)  # spread load among equals, then nearest first, fastest uplink first
        rank = per_site(lambda site: (near(site), -routes.upload(site) if routes else 0.0))
        remote.sort(key=lambda p: rank(p.site))
        remote = remote[:want]  # first: the fetcher's reason to be
    return rng.sample(local, min(want - len(remote), len(local))) + remote


__all__ = ["ORIGIN_SITE", "Peer", "select_peers"]
