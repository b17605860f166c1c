"""What an agent's ``POST /dists`` receives: the one builder of each kind of order.

The master's origin agent seeds the pushed path; a minion's agent fetches into
its dest. Both carry the signed torrent as base64 (the agent's API speaks JSON).
"""

from __future__ import annotations

import base64
from pathlib import PurePath
from typing import Any


def seed_order(torrent: bytes, *, source: PurePath, targets: list[str], upload_limit: int,
               priority: str = "", relays: dict[str, str] | None = None) -> dict[str, Any]:
    """The master's origin agent: seed from the pushed path itself; ``targets`` get certificates;
    ``relays``: targets in good-uplink sites (host -> site) that weak sites wait for."""
    return {"mode": "seed", "torrent": base64.b64encode(torrent).decode(), "source": str(source),
            "targets": targets, "upload_limit": upload_limit, **({"priority": priority} if priority else {}),
            **({"relays": relays} if relays else {})}


def fetch_order(torrent: bytes, *, dest: str, allowed_dest: list[str], tracker: str, force: bool,
                sites: dict[str, Any], site: str, order_id: str, priority: str = "") -> dict[str, Any]:
    """A minion's agent: fetch into ``dest`` (already resolved on this host), from ``tracker``.
    ``priority`` "" leaves the level the agent holds (a new distribution: normal)."""
    return {"mode": "fetch", "torrent": base64.b64encode(torrent).decode(), "dest": dest,
            "allowed_dest": allowed_dest, "tracker": tracker, "force": force, "sites": sites,
            "site": site, "order_id": order_id, **({"priority": priority} if priority else {})}
