"""The tracker's certificate desk: who gets a certificate for which swarm.

A request names a swarm (v2 info hash), a minion and the minion's TLS public
key, signed with the minion's Salt key. It is granted only if the swarm is
one this master registered, the minion may join it (a target, see
:meth:`Tracker.may_join`), the request is fresh, and the signature checks out
against the minion key the master accepted, and it was not presented before
(a request is good once: a replay, even within its 5 minutes, is refused).
The answer is a certificate for that swarm's torrent name only, for the
requester's own TLS key; the host then announces with it (no other secret).

The desk also hands out torrents too big to travel in a Salt order (those
name the torrent by info hash): to the same hosts, on a request signed the
same way (:func:`check_torrent_request`); a torrent request can be presented
again, since it only reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from salt_p2pdist.torrent import swarmca
from salt_p2pdist.tracker.announce import TrackerError
from salt_p2pdist.tracker.tracker import Tracker


class UsedRequests:
    """Requests already granted (their signed payload: signature encodings vary), kept
    while they would pass the age check."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def spend(self, payload: bytes, now: float) -> bool:
        """Record ``payload``; False if it was spent before."""
        self._until = {s: t for s, t in self._until.items() if t > now}
        digest = hashlib.sha256(payload).hexdigest()
        if digest in self._until:
            return False
        self._until[digest] = now + 2 * swarmca.REQUEST_MAX_AGE_S + 60
        return True


def issue_certificate(tracker: Tracker, ca: swarmca.SwarmCA, body: dict[str, Any], *,
                      key_of: Callable[[str], bytes | None], now: float,
                      used: UsedRequests) -> dict[str, str]:
    """``{"cert"}`` for a valid, unused request; TrackerError (the reason) otherwise."""
    try:
        info_hash, minion = str(body["info_hash"]), str(body["minion"])
        when, signature = int(body["time"]), str(body["signature"])
        tls_key = str(body["tls_key"]).encode()  # JSON's "\ud800" is text UTF-8 cannot hold
        info_hash20 = bytes.fromhex(info_hash)[:20]
    except (KeyError, TypeError, ValueError, OverflowError) as exc:  # "time": Infinity
        raise TrackerError(f"malformed certificate request: {exc}") from exc
    swarm = tracker.swarms.get(info_hash20)
    if swarm is None or not swarm.torrent_name:
        raise TrackerError("unknown torrent: not distributed by this master")
    if any(other.torrent_name == swarm.torrent_name for h, other in tracker.swarms.items()
           if h != info_hash20):
        # libtorrent admits by torrent name: such a certificate would fit both swarms.
        raise TrackerError("this distribution shares its torrent name with another one: "
                           "push it again with this p2pdist version (names are unique per content)")
    if not tracker.may_join(swarm, minion):
        raise TrackerError(f"{minion} is not a target of this distribution")
    if abs(now - when) > swarmca.REQUEST_MAX_AGE_S:
        raise TrackerError(f"request from {minion} is {int(now - when)} s off: check its clock")
    salt_key = key_of(minion)
    payload = swarmca.request_payload(info_hash, minion, tls_key, when)
    if salt_key is None or not swarmca.verify(salt_key, payload, signature):
        raise TrackerError(f"request for {minion} is not signed with {minion}'s accepted Salt key")
    if not used.spend(payload, now):
        raise TrackerError(f"request for {minion} was presented before: a request is good once")
    try:
        cert = ca.issue(tls_key, torrent_name=swarm.torrent_name, holder=minion)
    except ValueError as exc:
        raise TrackerError(f"unusable TLS key from {minion}: {exc}") from exc
    return {"cert": cert.decode()}


def check_torrent_request(tracker: Tracker, body: dict[str, Any], *,
                          key_of: Callable[[str], bytes | None], now: float) -> bytes:
    """The 20-byte swarm key of a valid torrent request by a host that may join; TrackerError otherwise."""
    try:
        info_hash, minion = str(body["info_hash"]), str(body["minion"])
        when, signature = int(body["time"]), str(body["signature"])
        info_hash20 = bytes.fromhex(info_hash)[:20]
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise TrackerError(f"malformed torrent request: {exc}") from exc
    swarm = tracker.swarms.get(info_hash20)
    if swarm is None:
        raise TrackerError("unknown torrent: not distributed by this master")
    if not tracker.may_join(swarm, minion):
        raise TrackerError(f"{minion} is not a target of this distribution")
    if abs(now - when) > swarmca.REQUEST_MAX_AGE_S:
        raise TrackerError(f"request from {minion} is {int(now - when)} s off: check its clock")
    salt_key = key_of(minion)
    payload = swarmca.torrent_request_payload(info_hash, minion, when)
    if salt_key is None or not swarmca.verify(salt_key, payload, signature):
        raise TrackerError(f"request for {minion} is not signed with {minion}'s accepted Salt key")
    return info_hash20
