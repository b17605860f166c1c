"""One swarm in the tracker's table: who may join it, who is in it, and how a host leaves it.

:mod:`salt_p2pdist.tracker.tracker` keeps one per distribution the master
registered and decides across them (admission, hand-out, intervals, the WAN
cap); a swarm only keeps its own members and WAN seats consistent.
"""

from __future__ import annotations

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

    def drop(self, host_id: str) -> None:
        """``host_id`` leaves: its entry goes, and with it any WAN seat it held."""
        self.peers.pop(host_id, None)
        self.fetchers.forget(host_id)

    def expire(self, now: float, peer_ttl: float) -> None:
        """Drop every host not heard from for ``peer_ttl`` seconds."""
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
            self.peers.pop(a.host_id, None)
            self.fetchers.hold(a.host_id, now + seat_grace)
        else:
            self.drop(a.host_id)
