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
    from salt_p2pdist.catalog import Catalog
    from salt_p2pdist.config import MasterSettings
    from salt_p2pdist.reports import rows_from_events

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


def event_return(events: list[dict[str, Any]]) -> None:
    """Master side: store the latest report of each minion, one transaction per batch."""
    rows = rows_from_events(events, TAG_PREFIX)
    log.debug("p2pdist event_return: %d report rows from %d events", len(rows), len(events))
    if not rows:
        return
    catalog = Catalog(MasterSettings.from_opts(__opts__).state_dir / "catalog.sqlite")
    try:
        catalog.record_reports(rows)
    finally:
        catalog.close()
