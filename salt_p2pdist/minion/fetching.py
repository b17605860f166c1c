"""Taking an order from the master: check the torrent and the admission, hand it to the agent."""

from __future__ import annotations

import base64
import binascii
import logging
import time
from typing import Any

from salt_p2pdist.core import admission, destpaths, lifecycle, names
from salt_p2pdist.core.agentorders import fetch_order
from salt_p2pdist.core.errors import Forbidden, InvalidRequest, P2PDistError
from salt_p2pdist.core.reports import WAKE_TAG_PREFIX
from salt_p2pdist.minion.host import Minion
from salt_p2pdist.minion.policysync import sync_policy
from salt_p2pdist.minion.reporting import ensure_reporting, set_pace
from salt_p2pdist.minion.torrentref import fetch_torrent
from salt_p2pdist.torrent.signature import admitted, check_torrent

log = logging.getLogger(__name__)


def take_order(minion: Minion, torrent: str, torrent_ref: dict[str, Any] | None, tracker: str, dest: str,
               force: bool, sites: dict[str, Any] | None, order_id: str, dist_id: str, *,
               priority: str, report_every: int) -> dict[str, Any]:
    """``p2pdist.fetch``: the torrent comes base64-encoded (``torrent``) or named (``torrent_ref``)."""
    if torrent_ref is not None:
        return fetch_by_ref(minion, torrent_ref, tracker, dest, force, sites, order_id, dist_id,
                            priority=priority, report_every=report_every)
    try:
        data = base64.b64decode(torrent)  # the one decoding on its way through
    except binascii.Error as exc:
        return _refusal(dist_id, exc)
    return fetch(minion, data, dest, force, sites, order_id, dist_id, priority=priority,
                 report_every=report_every)


def fetch(minion: Minion, torrent: bytes, dest: str, force: bool = False,
          sites: dict[str, Any] | None = None, order_id: str = "", dist_id: str = "", *,
          priority: str = "", report_every: int = 0) -> dict[str, Any]:
    """Have the agent fetch ``torrent`` into ``dest``, or say why not (``result`` False, ``error``).

    ``dist_id`` is the order's own word on what it is, for the log only. The
    answer's ``ts`` is this minion's time after taking the order. An order
    from the master (``order_id``) sets the heartbeat of the reports
    (``report_every``, 0: ``report_interval``); a ``p2pdist.present`` state's keeps it.
    """
    try:
        # Only torrents this minion's master signed; the tracker is the signed one.
        meta, roots = check_torrent(torrent, minion.master_key())
        # Only hosts the master admitted (push targets, allow=): checked before
        # anything is written; the master's tracker would refuse a certificate too.
        try:
            admission.check(minion.id, admitted(torrent), meta.dist_id)
        except Forbidden as exc:
            refused(minion, meta.dist_id, "p2pdist.fetch", str(exc))
            raise
        cfg = minion.settings()
        site = minion.site_grain()
        # One dest per OS may come; this host takes its own, with its own OS's roots.
        flavor = names.local_flavor()
        order = fetch_order(torrent, dest=cfg.resolve_dest(destpaths.for_host(dest, flavor)),
                            allowed_dest=[cfg.resolve_dest(r) for r in destpaths.roots_for(roots, flavor)],
                            tracker=meta.tracker, force=force, sites=sites or {}, site=site,
                            order_id=order_id, priority=priority)
        agent = minion.agent()
        agent.ensure()
        sync_policy(minion, agent)
        result = agent.call("POST", "/dists", order)
        if order_id:
            set_pace(minion, report_every)
        ensure_reporting(minion)
        if not order_id and not lifecycle.is_complete(str(result.get("state"))):
            wake_swarm(minion, meta.dist_id)  # a p2pdist.present state: quiet holders must serve
    except P2PDistError as exc:
        return _refusal(dist_id, exc)
    # The site grain goes back to the master: it overrides the address match.
    return {"result": True, **result, "site": site, "ts": time.time()}


def _refusal(dist_id: str, exc: Exception) -> dict[str, Any]:
    """The answer to an order this minion refuses (logged here too); ``ts``: this minion's time."""
    log.error("p2pdist: refused %s: %s", dist_id, exc)
    return {"result": False, "error": str(exc), "ts": time.time()}


def wake_swarm(minion: Minion, dist_id: str) -> None:
    """Ask the master to wake ``dist_id``'s swarm if it is quiet (only the master reaches the holders)."""
    try:
        minion.salt.fire_master({"dist_id": dist_id}, WAKE_TAG_PREFIX + minion.id)
    except Exception as exc:  # the fetch goes on; a quiet swarm then has only the origin
        log.error("p2pdist: could not ask the master to wake %s: %s", dist_id, exc)


def fetch_by_ref(minion: Minion, ref: Any, tracker: str, dest: str, force: bool = False,
                 sites: dict[str, Any] | None = None, order_id: str = "",
                 dist_id: str = "", *, priority: str = "", report_every: int = 0) -> dict[str, Any]:
    """:func:`fetch` for an order that names its torrent (``torrent_ref``) instead of carrying it."""
    try:
        torrent = fetch_torrent(ref, tracker, minion.id, minion.salt_key())
        meta, _roots = check_torrent(torrent, minion.master_key())
        if isinstance(ref, dict) and meta.info_hash != ref.get("info_hash"):
            raise InvalidRequest(f"the torrent fetched for {dist_id} is another distribution's: refused")
    except P2PDistError as exc:
        return _refusal(dist_id, exc)
    return fetch(minion, torrent, dest, force, sites, order_id, dist_id, priority=priority,
                 report_every=report_every)


def refused(minion: Minion, dist_id: str, route: str, reason: str) -> None:
    """Log a refused distribution here and tell the master, which writes it into its audit log."""
    log.error("p2pdist: refused %s (%s): %s", dist_id, route, reason)
    try:
        minion.salt.fire_master(admission.refusal_event(dist_id, route, reason),
                                admission.REFUSED_TAG_PREFIX + minion.id)
    except Exception as exc:  # the refusal stands even if the master is unreachable
        log.error("p2pdist: could not report the refusal to the master: %s", exc)
