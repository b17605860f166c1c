"""Priorities between distributions that cross the same WAN links at once.

A push names one of ``LEVELS`` (``priority=``, default ``normal``; changed
later with ``salt-run p2pdist.priority``). On a WAN link an urgent
distribution takes what it needs first, normal ones share the rest, and
background ones use what is left.

The rule, decided per site by the master's tracker (which sees every swarm):
a swarm is *held back* at a site while a swarm of a higher level *needs that
site's WAN link*: one of that swarm's WAN fetchers at the site is still
incomplete. Held back, the site's WAN fetchers of the lower swarm download it
at a trickle (the agent's per-torrent download limit); their LAN uploads to
site-mates, and site-mates' LAN downloads, are untouched. Swarms of one level
share the link as libtorrent shares it. Once nothing higher needs the link,
the lower swarm runs at full rate again: "background uses what is left".

The origin (the master's seeder, behind the HQ uplink every site shares)
serves the same way: a swarm is held back at the origin while a higher
swarm still has an incomplete host anywhere.

Pure: no I/O; the tracker, the agent and the origin are thin adapters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from salt_p2pdist.core.errors import InvalidRequest

URGENT, NORMAL, BACKGROUND = "urgent", "normal", "background"
LEVELS = (URGENT, NORMAL, BACKGROUND)  # highest first
DEFAULT = NORMAL
# bytes/s a held-back torrent still downloads on a WAN fetcher: it keeps its
# connections (and its peers' interest) alive without taking the link; 0 would mean "no limit".
TRICKLE = 1024


def parse(value: object, *, what: str = "priority") -> str:
    """A level from an admin's or an order's value; InvalidRequest naming the allowed values."""
    if isinstance(value, str) and value.strip().lower() in LEVELS:
        return value.strip().lower()
    raise InvalidRequest(f"{what}: {value!r} is not one of {', '.join(LEVELS)}")


def level_of(value: object) -> str:
    """A stored level, read leniently: anything unknown (older records, NULL) is normal."""
    return value if isinstance(value, str) and value in LEVELS else DEFAULT


def rank(level: str) -> int:
    """Higher is more urgent: background 0, normal 1, urgent 2."""
    return len(LEVELS) - 1 - LEVELS.index(level_of(level))


@dataclass(frozen=True)
class SwarmAtSite:
    """What the tracker knows of one swarm at one site."""

    swarm: str  # the swarm's key (its dist id)
    level: str
    needs_wan: bool  # one of its WAN fetchers at this site is incomplete


def held_at_site(swarms: Iterable[SwarmAtSite]) -> dict[str, str]:
    """Swarm -> the higher swarm it yields to, for each swarm held back at one site.

    A swarm that needs the link yields to the most urgent swarm that needs it
    and ranks above it (several at that level: the first by key, for a stable
    answer). One that does not need the link has nothing to hold back.
    """
    swarms = list(swarms)
    needing = sorted((s for s in swarms if s.needs_wan), key=lambda s: (-rank(s.level), s.swarm))
    held: dict[str, str] = {}
    for s in needing:
        above = [n for n in needing if rank(n.level) > rank(s.level)]
        if above:
            held[s.swarm] = above[0].swarm
    return held


def held_by_site(levels: Mapping[str, str], needs: Mapping[str, Iterable[str]]
                 ) -> dict[str, dict[str, str]]:
    """Site -> (swarm -> swarm it yields to); ``needs`` maps each swarm to the sites whose
    WAN link it needs now, ``levels`` each swarm to its level."""
    sites: dict[str, list[SwarmAtSite]] = {}
    needed = {key: set(where) for key, where in needs.items()}
    all_sites = set().union(*needed.values()) if needed else set()
    for site in all_sites:
        sites[site] = [SwarmAtSite(key, levels.get(key, DEFAULT), site in needed.get(key, set()))
                       for key in levels]
    return {site: held for site, rows in sites.items() if (held := held_at_site(rows))}


def held_at_origin(levels: Mapping[str, str], incomplete: Iterable[str]) -> dict[str, str]:
    """Swarm -> the higher swarm it yields to on the origin's uplink (shared by every site).

    ``incomplete``: swarms with an incomplete host anywhere (they need the origin).
    """
    need = set(incomplete)
    return held_at_site(SwarmAtSite(key, level, key in need) for key, level in levels.items())


def expected_finish(alone: Mapping[str, tuple[str, float | None]]) -> dict[str, float | None]:
    """Seconds until each distribution finishes given the others: dist id -> (level, alone_s).

    ``alone_s`` is what it still needs of the shared WAN with the link to itself
    (None: unknown). The model, simple on purpose: all of them cross one
    bottleneck; a higher level takes it whole until it is done (so its
    remaining time comes first); one level shares it evenly (processor
    sharing: a distribution finishes once it and every shorter one of its
    level got their time, and the longer ones as much as it). It ignores that
    a held-back distribution still moves at a trickle and over the LAN, and
    that distributions to different sites do not compete for a branch link:
    an upper estimate where targets differ. Unknown ahead of it: unknown.
    """
    out: dict[str, float | None] = {}
    for dist_id, (level, own) in alone.items():
        ahead = [a for lv, a in alone.values() if rank(lv) > rank(level)]
        peers = [a for lv, a in alone.values() if rank(lv) == rank(level)]
        if own is None or None in ahead or None in peers:
            out[dist_id] = None
            continue
        known = [a for a in peers if a is not None]
        shared = sum(min(a, own) for a in known)  # each peer runs beside it until it or the peer ends
        out[dist_id] = sum(a for a in ahead if a is not None) + shared
    return out
