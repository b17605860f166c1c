"""Publishing orders to minions: the one place a ``p2pdist.fetch`` order leaves the master.

A push publishes and collects each minion's answer; a minion that was offline
gets the same order again, without waiting, when it starts (``origin.resend_pending``).
"""

from __future__ import annotations

import time
from typing import Any

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.core import reports
from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.master import orders
from salt_p2pdist.master.catalog import Catalog
from salt_p2pdist.master.minions import Minions
from salt_p2pdist.master.terminal import Painter

FETCH = "p2pdist.fetch"
ORDER_TIMEOUT_S = 30


def publish(minions: Minions, targets: list[str], order: dict[str, Any], catalog: Catalog,
            order_timeout: int = ORDER_TIMEOUT_S, painter: Painter | None = None) -> dict[str, Any]:
    """Publish the order and collect each minion's answer.

    Every answer is recorded at once, stamped with the minion's time: a
    refusal (a file in the way, a bad dest) as failed with its reason, an
    acceptance as the state it reports. One that does not answer stays
    pending (offline, or slow), and ``p2pdist.status`` shows it so.
    """
    returns = minions.ask(targets, FETCH, order, order_timeout, painter or Painter())
    accepted, refused, grains, silent = orders.classify_answers(targets, returns)
    catalog.record_reports(reports.rows_from_answers(order["dist_id"], order.get("order_id", ""),
                                                     returns, refused, time.time()))
    known = catalog.site_overrides()
    changed = {m: s for m, s in grains.items() if known.get(m, "") != s}
    catalog.set_site_overrides(changed)
    return {"accepted": sorted(accepted), "refused": refused,
            "no_answer": sorted(silent), "site_grains": changed}


def republish(minions: Minions, minion: str, order: dict[str, Any]) -> None:
    """The same order again to one minion that missed it; its answer comes back as a report."""
    minions.send([minion], FETCH, order)


def send_topology(cfg: MasterSettings, origin: AgentClient, catalog: Catalog) -> None:
    """The tracker's site map (master config plus minions' site grains) and the WAN's shape and
    HQ link: the sites' down/up rates travel in ``sites``; the hand-out uses them (tracker/routes.py)."""
    origin.call("POST", "/topology", {"sites": cfg.sites or {}, "overrides": catalog.site_overrides(),
                                      "hq": cfg.hq, "wan": cfg.wan})
