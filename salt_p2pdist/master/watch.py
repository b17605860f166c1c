"""Reading a distribution's progress on the master: the catalog plus the origin's own view.

Used by ``salt-run p2pdist.status`` (and the progress board of ``watch=True`` and ``push wait=True``).
"""

from __future__ import annotations

import time
from typing import Any

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.core import planview, progress
from salt_p2pdist.core import status as status_view
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.core.wanlinks import Wan
from salt_p2pdist.master.catalog import Catalog
from salt_p2pdist.master.terminal import Painter


def origin_status(origin: AgentClient, dist_id: str) -> dict[str, Any] | None:
    """What the master's seeder says (served bytes...); None if it does not answer."""
    try:
        return dict(origin.call("GET", f"/dists/{dist_id}", timeout=5))
    except P2PDistError:
        return None


def view(catalog: Catalog, origin: AgentClient, dist_id: str,
         wan: Wan | None = None) -> dict[str, Any] | None:
    """The status view; with ``wan``, each site's progress beside the planner's bound."""
    dist = catalog.distribution(dist_id)
    if dist is None:
        return None
    now = time.time()
    shown = status_view.distribution_view(dist, catalog.host_rows(dist_id), now,
                                          origin_status(origin, dist_id))
    if wan is not None:
        shown["plan"] = planview.progress_against_plan(shown, wan, now)
    return shown


def follow(catalog: Catalog, origin: AgentClient, dist_id: str, timeout: int,
           painter: Painter, wan: Wan | None = None) -> dict[str, Any]:
    """Redraw the progress board every second until the distribution settles (or ``timeout``).

    Returns the last view; the board goes to the painter (stderr), never to the
    command's result.
    """
    deadline = time.monotonic() + timeout
    while True:
        v = view(catalog, origin, dist_id, wan)
        assert v is not None
        settled = v["distribution"]["state"] not in ("active", "pending")
        painter.draw(progress.board_lines(v) + planview.status_lines(v.get("plan"), settled),
                     final=settled)
        if settled or time.monotonic() > deadline:
            return v
        time.sleep(1)
