"""Which remote hosts a WAN fetcher may trade with, from the WAN the planner knows.

The hand-out (:mod:`salt_p2pdist.tracker.handout`) gives a site's fetchers the
other sites' fetchers and seeds and the origin. Two WAN shapes make some of
those a bad choice; the rules below use ``p2pdist:wan``, ``p2pdist:hq`` and
each site's ``down``/``up`` (:mod:`salt_p2pdist.core.wanlinks`):

- hub: branch-to-branch traffic crosses the HQ link in and out, so a copy
  relayed between branches costs the HQ uplink the same as one from the
  origin, and its downlink once more. A host outside the HQ site trades
  across the WAN only with the origin and hosts of the HQ site
  (``p2pdist:hq:site``); branch hosts are never handed to each other.
- weak uplink (mesh): a site whose ``up`` is below a quarter of its ``down``
  is not handed out as a source to other sites, and its seeds serve no
  other site. Its uplink also carries the acknowledgements and requests of
  its own download, and while it serves peers that uplink is full, which
  slows the one download its site waits for; and it can give back at most a
  quarter of what it takes. The planner's total-upload term shows the cost:
  on the shipped asymmetric topology (16/1 Mbit/s branches) leaving those
  uploads out moves the bound by 5 %. Such a site still *receives* from
  every good source, and is handed out as a source when no other site nor
  the origin holds a complete copy (it never starves anyone). While a good-uplink site
  is still fetching, a weak site's fetcher gets that site's hosts but not the origin,
  so that HQ's uplink goes to the sites that pass it on (the planner's mesh plan:
  HQ sends about ``u_hq / (u_hq + Σu_i)`` of the copies, the relays the rest); it gets
  the origin once no such site is fetching, or when it has made no progress for a
  while (the tracker's ``starve_after``). A good-uplink site's host the master placed
  among the targets (``relays`` of the swarm) counts as fetching before its first
  announce, for ``RELAY_WAIT`` seconds after the push: a weak site's fetcher that
  announces first would otherwise get the origin and keep it (a tracker cannot take back
  a peer it handed out), and HQ's uplink would be split three ways instead of fed to the
  relay.
- among the remote sources left, the ones behind faster uplinks come first
  (the hand-out is cut at the host's ``numwant``).

With no WAN description (or no rates) nothing changes: every site may relay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from salt_p2pdist.core.wanlinks import HUB, Link, Wan

ORIGIN_SITE = "origin"
WEAK_UPLINK = 0.25  # up below this fraction of down: the site takes, but hardly gives
# How long after the push a weak site waits for a relay placed among the targets that has
# not announced yet: its minion job starts and its agent announces within seconds; one that
# does not (off, busy) must not hold a weak site back much longer (hungry does the rest).
RELAY_WAIT = 15.0
NO_LINK = Link()


class Placed(Protocol):
    @property
    def site(self) -> str: ...
    @property
    def complete(self) -> bool: ...


P = TypeVar("P", bound=Placed)
T = TypeVar("T")


@dataclass(frozen=True)
class WanRoutes:
    wan: Wan = field(default_factory=Wan)

    def weak(self, site: str) -> bool:
        """A mesh site whose uplink is far below its downlink (both configured)."""
        link = self.wan.sites.get(site, NO_LINK)
        return bool(self.wan.shape != HUB and link.up and link.down
                    and link.up < WEAK_UPLINK * link.down)

    def upload(self, site: str) -> float:
        """The site's configured uplink in Mbit/s (the origin's: the HQ uplink); 0 if unknown."""
        link = self.wan.hq if site == ORIGIN_SITE else self.wan.sites.get(site, NO_LINK)
        return link.up or 0.0

    def _at_hq(self, site: str) -> bool:
        return site == ORIGIN_SITE or (bool(self.wan.hq_site) and site == self.wan.hq_site)

    def remote(self, site: str, complete: bool, candidates: Iterable[P], hungry: bool = False,
               awaited: bool = False) -> list[P]:
        """The remote ``candidates`` a host of ``site`` may trade with (a seed if ``complete``;
        ``hungry``: it has made no progress for a while; ``awaited``: a relay the master placed
        among the targets has not announced yet)."""
        pool = list(candidates)
        if self.wan.shape == HUB and not self._at_hq(site):
            return [p for p in pool if self._at_hq(p.site)]
        if self.weak(site) and complete:
            return []  # its seeds would fill the weak uplink serving other sites
        if complete:
            return pool  # a seed's remote peers are the fetchers it serves
        weak = per_site(self.weak)
        good = [p for p in pool if not weak(p.site)]
        if weak(site) and not hungry and awaited:
            return [p for p in good if p.site != ORIGIN_SITE]  # the relay is on its way
        if not any(p.complete for p in good):
            return pool
        if weak(site) and not hungry and any(self._relaying(p) for p in good):
            # HQ's uplink first fills the good-uplink sites, which pass it on to this one.
            return [p for p in good if p.site != ORIGIN_SITE]
        return good

    def relay_site(self, site: str) -> bool:
        """A site that passes on what HQ sends it: a configured uplink, not weak (mesh only)."""
        return self.wan.shape != HUB and site != ORIGIN_SITE and self.upload(site) > 0 \
            and not self.weak(site)

    def _relaying(self, p: Placed) -> bool:
        """A host of a good-uplink site still fetching (from the origin, among others)."""
        return not p.complete and self.relay_site(p.site)


def per_site(of_site: Callable[[str], T]) -> Callable[[str], T]:
    """``of_site`` asked once per site: a fetcher's candidates are thousands of hosts of a
    few hundred sites (swarm.py)."""
    known: dict[str, T] = {}

    def ask(site: str) -> T:
        if site not in known:
            known[site] = of_site(site)
        return known[site]
    return ask
