"""The heartbeat an order gives minions: from how many are active, within the master's budget."""

from __future__ import annotations

from collections.abc import Iterable

from salt_p2pdist.core import lifecycle, status
from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.core.pacing import order_pace
from salt_p2pdist.master.catalog import HOSTS, Catalog


def active_minions(catalog: Catalog) -> set[str]:
    """Minions that report now: a transfer active, or an order not answered yet (about to be)."""
    found: set[str] = set()
    for r in catalog.db.execute(
            f"SELECT t.minion, t.order_id AS current_order, r.state, r.order_id FROM {HOSTS} t"
            " JOIN dists d ON d.id=t.dist_id AND d.cancelled=0"
            " LEFT JOIN reports r ON r.dist_id=t.dist_id AND r.minion=t.minion"):
        state = status.current_state(dict(r))
        if state == lifecycle.PENDING or lifecycle.is_active(state):
            found.add(r["minion"])
    return found


def pace(cfg: MasterSettings, catalog: Catalog, ordering: Iterable[str] = ()) -> int:
    """``report_every`` for an order: counts the active minions and those it orders now."""
    return order_pace(len(active_minions(catalog) | set(ordering)), cfg.report_budget)
