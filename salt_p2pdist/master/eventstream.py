"""What the master does with the events minions send (the returner's ``event_return``).

Reports go into the catalog that ``salt-run p2pdist.status`` reads; a pillar
policy reaching (or refused by) a minion, and a minion refusing a distribution
it was not admitted to, go into the audit log. The same stream keeps the
master's side alive: reports mean transfers are active, so the origin agent is
restarted if it died; a minion that starts gets again the orders it missed
while it was offline. No extra daemon or cron job is needed.
"""

from __future__ import annotations

import logging
from typing import Any

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.core import lifecycle
from salt_p2pdist.core.admission import refusals_from_events
from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.core.reports import (
    REPORT_TAG_PREFIX,
    policy_changes_from_events,
    rows_from_events,
    wake_requests_from_events,
)
from salt_p2pdist.master import origin, quieting
from salt_p2pdist.master.audit import audit_log
from salt_p2pdist.master.catalog import Catalog
from salt_p2pdist.master.minions import Minions

log = logging.getLogger(__name__)


def audit_events(cfg: MasterSettings, events: list[dict[str, Any]]) -> None:
    """Policy changes and admission refusals the minions announced, into the audit log."""
    changes = policy_changes_from_events(events)
    refusals = refusals_from_events(events)
    if not changes and not refusals:
        return
    audit = audit_log(cfg)
    for change in changes:
        audit.record("policy", "pillar p2pdist:policy", result=change.pop("result"), **change)
    for refusal in refusals:
        audit.record("admission", refusal.pop("minion"), result=f"refused: {refusal.pop('reason')}",
                     **refusal)


def started_minions(events: list[dict[str, Any]]) -> list[str]:
    """Minions whose ``salt/minion/<id>/start`` event is in the batch."""
    return [str(e["tag"]).split("/")[2] for e in events
            if str(e.get("tag", "")).startswith("salt/minion/") and str(e["tag"]).endswith("/start")]


def take_events(cfg: MasterSettings, opts: dict[str, Any], minions: Minions,
                events: list[dict[str, Any]]) -> None:
    """One batch of events: audit, store the latest report of each minion, keep the master's side up."""
    audit_events(cfg, events)
    rows = rows_from_events(events, REPORT_TAG_PREFIX)
    started = started_minions(events)
    wakes = wake_requests_from_events(events)
    if not rows and not started and not wakes:
        return
    catalog = origin.catalog_of(cfg)
    try:
        if rows:
            catalog.record_reports(rows)
        # Reports mean transfers are active; a starting minion may need the
        # tracker for orders it missed.
        origin.keep_origin_up(cfg, opts, catalog)
        for minion in started:
            origin.resend_pending(cfg, opts, minions, catalog, minion)
        # A distribution is complete only once a report says a copy is.
        seeder = origin.origin_client(cfg, opts)
        quieting.note_complete(cfg, seeder, catalog,
                               {d for d, _m, _ts, f in rows if lifecycle.is_complete(str(f.get("state")))})
        for minion, dist_id in wakes:
            wake_for_present(cfg, seeder, minions, catalog, minion, dist_id)
    finally:
        catalog.close()


def wake_for_present(cfg: MasterSettings, seeder: AgentClient, minions: Minions, catalog: Catalog,
                     minion: str, dist_id: str) -> None:
    """A ``p2pdist.present`` state on ``minion`` started fetching: wake the swarm if it is quiet.

    Only for a minion the distribution admits (a target, or matched by allow=).
    """
    if minion not in catalog.targets(dist_id) and minion not in catalog.allowed(dist_id):
        return
    try:
        quieting.wake(cfg, seeder, minions, catalog, dist_id, user=minion, why="p2pdist.present")
    except P2PDistError as exc:
        log.error("p2pdist: cannot wake %s for %s: %s", dist_id, minion, exc)
