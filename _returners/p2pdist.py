"""Returner: carries minions' progress reports into the master's catalog.

Two halves of one path:
- on a minion, ``returner`` gets the return of the scheduled ``p2pdist.report``
  job and sends it to the master as a ``p2pdist/report/<id>`` event;
- on the master (``event_return: p2pdist``), ``event_return`` receives those
  events in batches and writes the latest state per (distribution, minion)
  into the catalog that ``salt-run p2pdist.status`` reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

__virtualname__ = "p2pdist"

try:
    from salt_p2pdist.core.config import MasterSettings
    from salt_p2pdist.core.reports import REPORT_TAG_PREFIX as TAG_PREFIX
    from salt_p2pdist.master.eventstream import take_events
    from salt_p2pdist.master.minions import SaltMinions

    HAS_LIBS = True
except ImportError:  # pragma: no cover
    HAS_LIBS = False

if TYPE_CHECKING:  # injected by Salt's loader
    __opts__: dict[str, Any]
    __salt__: dict[str, Callable[..., Any]]


def __virtual__() -> str | tuple[bool, str]:
    if not HAS_LIBS:
        return False, "p2pdist: install the salt-p2pdist package"
    return __virtualname__


def returner(ret: dict[str, Any]) -> None:
    """Minion side: forward a ``p2pdist.report`` return to the master."""
    if ret.get("fun") != "p2pdist.report" or not isinstance(ret.get("return"), dict):
        return
    __salt__["event.fire_master"](ret["return"], TAG_PREFIX + str(ret.get("id", "")))


def event_return(events: list[dict[str, Any]]) -> None:
    """Master side: store the latest report of each minion, one transaction per batch.

    The same stream keeps the master's side alive: reports mean transfers are
    active, so the origin agent is restarted if it died; a minion that starts
    gets again the orders it missed while it was offline.
    """
    take_events(MasterSettings.from_opts(__opts__), __opts__, SaltMinions(__opts__), events)
