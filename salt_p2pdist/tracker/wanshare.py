"""A site's WAN cap as one total: which hosts share it, and each one's part.

``p2pdist:sites:<site>:wan_rate`` caps what a site sends and receives across
its WAN link. Each minion can only throttle its own traffic, so the master's
tracker, which decides who trades across the WAN (:mod:`salt_p2pdist.tracker.handout`),
also counts who does: a host is *on the WAN* in a swarm from the moment the
tracker hands it a peer of another site, or hands it to one, for as long as
that can still carry data (it, or a host of another site in the swarm, is
incomplete; and it was matched again in the last ``hold`` seconds).

The hosts of a site on the WAN, in any swarm, split the cap evenly, but a part
is handed out only as far as the parts the site's other hosts still hold leave
room (:class:`WanGrants`): a host learns that others joined only when it next
asks, so a newcomer waits for them to shrink rather than overshoot. A host
that stops asking (no peers any more) lets its part lapse after ``lease``. A
host off the WAN gets a trickle (its own hand-out gave it no remote peer).

Even split, not by demand: the sum never exceeds the cap, and a branch with
one WAN fetcher (the usual case while it downloads) gives it the whole cap.
When several seeds of a site serve other sites, each gets its part whether or
not libtorrent asks it for pieces, so the total can stay under the cap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from salt_p2pdist.tracker.handout import Peer

TRICKLE = 1024  # bytes/s each way for a host off the WAN (0 would mean "no limit")


@dataclass(frozen=True)
class WanShare:
    """What the tracker tells a host: its site, how many hosts of it are on the WAN, its part."""

    site: str
    on_wan: bool
    hosts: int  # hosts of the site on the WAN now, this one included if on_wan
    fraction: float = 0.0  # of the site's cap, granted to this host
    # Torrents this host holds back on the WAN: dist id -> the higher one it yields to (priorities.py)
    held: dict[str, str] = field(default_factory=dict)

    def part(self, wan_rate: int) -> int:
        """This host's bytes/s each way with peers outside its site (0: no cap)."""
        if wan_rate <= 0:
            return 0
        if self.fraction <= 0:
            return min(TRICKLE, wan_rate)
        return max(min(TRICKLE, wan_rate), int(wan_rate * self.fraction))

    def to_dict(self) -> dict[str, object]:
        return {"site": self.site, "on_wan": self.on_wan, "hosts": self.hosts,
                "fraction": round(self.fraction, 6), "held": dict(self.held)}


@dataclass
class WanGrants:
    """The parts of each site's cap handed out, so that together they never exceed it."""

    lease: float = 15.0  # 3 polls of a host with peers: one that stops asking lets go
    held: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)  # site: host: (part, when)

    def grant(self, site: str, host: str, on_wan: set[str], now: float) -> float:
        """``host``'s part: an even share if the others' parts leave room, else what they leave."""
        held = self.held.setdefault(site, {})
        for h in [h for h, (_, when) in held.items() if now - when > self.lease]:
            del held[h]
        fair = 1.0 / len(on_wan) if host in on_wan else 0.0
        others = sum(part for h, (part, _) in held.items() if h != host)
        part = max(0.0, min(fair, 1.0 - others))
        held[host] = (part, now)
        return part


@dataclass
class WanExposure:
    """Who trades across the WAN, per swarm; fed by the tracker's hand-outs."""

    hold: float = 75.0  # 2 announce intervals and a margin: re-announces renew it
    # swarm key -> host id -> (its site, when last matched with another site's host)
    matched: dict[bytes, dict[str, tuple[str, float]]] = field(default_factory=dict)

    def record(self, swarm: bytes, requester: Peer, handed: Iterable[Peer], now: float) -> None:
        remote = [p for p in handed if p.site != requester.site]
        if not remote:
            return
        hosts = self.matched.setdefault(swarm, {})
        for p in (requester, *remote):
            hosts[p.host_id] = (p.site, now)

    def forget(self, swarm: bytes, host_id: str | None = None) -> None:
        if host_id is None:
            self.matched.pop(swarm, None)
        else:
            self.matched.get(swarm, {}).pop(host_id, None)

    def on_wan(self, swarms: dict[bytes, dict[str, Peer]], now: float) -> dict[str, set[str]]:
        """Site -> hosts on the WAN now; ``swarms`` maps each swarm to its current peers."""
        by_site: dict[str, set[str]] = {}
        for key, hosts in self.matched.items():
            peers = swarms.get(key, {})
            for host, (site, when) in hosts.items():
                me = peers.get(host)
                if me is None or now - when > self.hold:
                    continue
                busy = not me.complete or any(not p.complete and p.site != site for p in peers.values())
                if busy:
                    by_site.setdefault(site, set()).add(host)
        return by_site
