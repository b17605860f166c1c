"""The tracker's certificate desk: who gets a certificate for which swarm.

A request names a swarm (v2 info hash), a minion and the minion's TLS public
key, signed with the minion's Salt key. It is granted only if the swarm is
one this master registered, the minion may join it (a target, see
:meth:`Tracker.may_join`), the request is fresh, and the signature checks out
against the minion key the master accepted. The answer is a certificate for
that swarm's torrent name only, and the announce token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from salt_p2pdist import swarmca
from salt_p2pdist.tracker import Tracker, TrackerError, announce_token


def issue_certificate(tracker: Tracker, ca: swarmca.SwarmCA, body: dict[str, Any], *,
                      key_of: Callable[[str], bytes | None], now: float) -> dict[str, str]:
    """``{"cert", "auth"}`` for a valid request; TrackerError (the reason) otherwise."""
    try:
        info_hash, minion = str(body["info_hash"]), str(body["minion"])
        when, tls_key, signature = int(body["time"]), str(body["tls_key"]), str(body["signature"])
        info_hash20 = bytes.fromhex(info_hash)[:20]
    except (KeyError, TypeError, ValueError, OverflowError) as exc:  # "time": Infinity
        raise TrackerError(f"malformed certificate request: {exc}") from exc
    swarm = tracker.swarms.get(info_hash20)
    if swarm is None or not swarm.torrent_name:
        raise TrackerError("unknown torrent: not distributed by this master")
    if not tracker.may_join(swarm, minion):
        raise TrackerError(f"{minion} is not a target of this distribution")
    if abs(now - when) > swarmca.REQUEST_MAX_AGE_S:
        raise TrackerError(f"request from {minion} is {int(now - when)} s off: check its clock")
    salt_key = key_of(minion)
    payload = swarmca.request_payload(info_hash, minion, tls_key.encode(), when)
    if salt_key is None or not swarmca.verify(salt_key, payload, signature):
        raise TrackerError(f"request for {minion} is not signed with {minion}'s accepted Salt key")
    assert tracker.secret is not None, "a tracker that certifies needs a secret"
    try:
        cert = ca.issue(tls_key.encode(), torrent_name=swarm.torrent_name, holder=minion)
    except ValueError as exc:
        raise TrackerError(f"unusable TLS key from {minion}: {exc}") from exc
    return {"cert": cert.decode(), "auth": announce_token(tracker.secret, info_hash20, minion)}
