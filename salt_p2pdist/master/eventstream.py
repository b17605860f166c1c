"""What the master does with the events minions send (the returner's ``event_return``).

Reports go into the catalog that ``salt-run p2pdist.status`` reads; a pillar
policy reaching (or refused by) a minion, and a minion refusing a distribution
it was not admitted to, go into the audit log. The same stream keeps the
master's side alive: reports mean transfers are active, so the origin agent is
restarted if it died; a minion that starts gets again the orders it missed
while it was offline. No extra daemon or cron job is needed.
"""

from __future__ import annotations

from typing import Any

from salt_p2pdist.core.admission import refusals_from_events
from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.core.reports import REPORT_TAG_PREFIX, policy_changes_from_events, rows_from_events
from salt_p2pdist.master import origin
from salt_p2pdist.master.audit import audit_log
from salt_p2pdist.master.minions import Minions


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
    if not rows and not started:
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
    finally:
        catalog.close()
