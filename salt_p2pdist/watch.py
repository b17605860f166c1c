"""Reading a distribution's progress on the master: the catalog plus the origin's own view.

Used by ``salt-run p2pdist.status`` (and its ``watch=True`` progress bar).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from salt_p2pdist import status as status_view
from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.catalog import Catalog
from salt_p2pdist.errors import P2PDistError


def origin_status(origin: AgentClient, dist_id: str) -> dict[str, Any] | None:
    """What the master's seeder says (served bytes...); None if it does not answer."""
    try:
        return dict(origin.call("GET", f"/dists/{dist_id}", timeout=5))
    except P2PDistError:
        return None


def view(catalog: Catalog, origin: AgentClient, dist_id: str) -> dict[str, Any] | None:
    dist = catalog.distribution(dist_id)
    if dist is None:
        return None
    return status_view.distribution_view(dist, catalog.host_rows(dist_id), time.time(),
                                         origin_status(origin, dist_id))


def progress_line(d: dict[str, Any], got: int) -> str:
    whole = max(1, d["bytes"] * d["targets"])
    bar = "#" * int(30 * got / whole)
    return (f"[{bar:<30}] {d['name']}: {d['done']}/{d['targets']} done, {d['failed']} failed, "
            f"{d['throughput'] / 2**20:.1f} MiB/s, eta {d['eta_s']} s")


def follow(catalog: Catalog, origin: AgentClient, dist_id: str, timeout: int,
           emit: Callable[[str], None]) -> dict[str, Any]:
    """Emit a progress line every second until the distribution settles (or ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        v = view(catalog, origin, dist_id)
        assert v is not None
        d = v["distribution"]
        emit(progress_line(d, sum(h["bytes_done"] or 0 for h in v["minions"].values())))
        if d["state"] not in ("active", "pending") or time.monotonic() > deadline:
            return dict(d)
        time.sleep(1)
