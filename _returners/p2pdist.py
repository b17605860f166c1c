"""Returner: carries minions' progress reports into the master's catalog.

Two halves of one path:
- on a minion, ``returner`` gets the return of the scheduled ``p2pdist.report``
  job and sends it to the master as a ``p2pdist/report/<id>`` event;
- on the master (``event_return: p2pdist``), ``event_return`` receives those
  events in batches and writes the latest state per (distribution, minion)
  into the catalog that ``salt-run p2pdist.status`` reads.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)
__virtualname__ = "p2pdist"
TAG_PREFIX = "p2pdist/report/"

try:
    from salt_p2pdist.core.admission import refusals_from_events
    from salt_p2pdist.core.config import MasterSettings
    from salt_p2pdist.core.reports import policy_changes_from_events, rows_from_events
    from salt_p2pdist.files.audit import AuditLog
    from salt_p2pdist.master import origin

    HAS_LIBS = True
except ImportError:  # pragma: no cover
    HAS_LIBS = False


def __virtual__():  # type: ignore[no-untyped-def]
    if not HAS_LIBS:
        return False, "p2pdist: install the salt-p2pdist package"
    return __virtualname__


def returner(ret: dict[str, Any]) -> None:
    """Minion side: forward a ``p2pdist.report`` return to the master."""
    if ret.get("fun") != "p2pdist.report" or not isinstance(ret.get("return"), dict):
        return
    __salt__["event.fire_master"](ret["return"], TAG_PREFIX + str(ret.get("id", "")))


def _audit_policy_changes(events: list[dict[str, Any]]) -> None:
    """Pillar policy reaching (or refused by) a minion goes into the audit log."""
    changes = policy_changes_from_events(events)
    if not changes:
        return
    audit = AuditLog(MasterSettings.from_opts(__opts__).state_dir / "audit.log")
    for change in changes:
        audit.record("policy", "pillar p2pdist:policy", result=change.pop("result"), **change)


def _audit_refusals(events: list[dict[str, Any]]) -> None:
    """A minion that refused a distribution it was not admitted to: into the audit log."""
    refusals = refusals_from_events(events)
    if not refusals:
        return
    audit = AuditLog(MasterSettings.from_opts(__opts__).state_dir / "audit.log")
    for refusal in refusals:
        audit.record("admission", refusal.pop("minion"), result=f"refused: {refusal.pop('reason')}",
                     **refusal)


def event_return(events: list[dict[str, Any]]) -> None:
    """Master side: store the latest report of each minion, one transaction per batch.

    The same stream keeps the master's side alive: reports mean transfers are
    active, so the origin agent is restarted if it died; a minion that starts
    gets again the orders it missed while it was offline.
    """
    _audit_policy_changes(events)
    _audit_refusals(events)
    rows = rows_from_events(events, TAG_PREFIX)
    started = [str(e["tag"]).split("/")[2] for e in events
               if str(e.get("tag", "")).startswith("salt/minion/")
               and str(e["tag"]).endswith("/start")]
    if not rows and not started:
        return
    cfg = MasterSettings.from_opts(__opts__)
    catalog = origin.catalog_of(cfg)
    try:
        if rows:
            catalog.record_reports(rows)
        # Reports mean transfers are active; a starting minion may need the
        # tracker for orders it missed.
        origin.keep_origin_up(cfg, __opts__, catalog)
        for minion in started:
            origin.resend_pending(cfg, __opts__, catalog, minion)
    finally:
        catalog.close()
