"""The master's side of a distribution, shared by the runner and the returner.

The origin agent (seeder + tracker) must run whenever a distribution is
active, also after the master host restarts; minions that were offline when a
push was made must get their order when they come back. Both are driven from
the master's event stream (``event_return``), which runs whenever the master
does, so no extra daemon or cron job is needed.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.core import lifecycle, status
from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.master import orders, pacing, publishing, trackerhost
from salt_p2pdist.master.catalog import Catalog
from salt_p2pdist.master.minions import Minions
from salt_p2pdist.torrent.metainfo import describe

log = logging.getLogger(__name__)
CHECK_EVERY_S = 15.0
_last_check = 0.0


def origin_client(cfg: MasterSettings, opts: dict[str, Any]) -> AgentClient:
    return AgentClient(cfg.state_dir / "origin", "origin", trackerhost.origin_args(cfg, opts))


def publish_torrent(cfg: MasterSettings, dist_id: str, name: str, torrent: bytes) -> str:
    """Write <id>/<name>.torrent where the master's file server serves it to states; its salt:// URL.

    One folder per distribution: pushing other content under the same name
    gets another id and another URL, so a state naming a URL never switches
    content behind the admin's back.
    """
    if not cfg.torrent_dir:
        return ""
    from salt_p2pdist.files.atomic import write_atomic

    path = Path(cfg.torrent_dir) / dist_id / f"{name}.torrent"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, torrent)
    return f"salt://{Path(cfg.torrent_dir).name}/{dist_id}/{path.name}"


def catalog_of(cfg: MasterSettings) -> Catalog:
    return Catalog(cfg.state_dir / "catalog.sqlite")


def keep_origin_up(cfg: MasterSettings, opts: dict[str, Any], catalog: Catalog) -> None:
    """Restart the origin agent if it died, at most every CHECK_EVERY_S seconds."""
    global _last_check
    if not cfg.supervise_origin:
        return
    if time.monotonic() - _last_check < CHECK_EVERY_S:
        return
    try:
        if any(not d["cancelled"] for d in catalog.distributions()):
            origin = origin_client(cfg, opts)
            if not origin.alive():
                log.warning("p2pdist: the origin agent was down; restarting it")
                origin.ensure()
    except P2PDistError as exc:  # reports must still be stored
        log.error("p2pdist: cannot restart the origin agent: %s", exc)
    finally:
        # Counted from the end of the attempt: a failing start (30 s) must not
        # be retried on every batch of reports.
        _last_check = time.monotonic()


def fetch_order(cfg: MasterSettings, opts: dict[str, Any], dist: dict[str, Any],
                order_id: str = "", report_every: int = 0) -> dict[str, Any]:
    """The order for one distribution, rebuilt from the catalog (never with force)."""
    torrent = bytes(dist["torrent"])
    return orders.fetch_order(describe(torrent), torrent, dest=dist["dest"], force=False,
                              tracker=trackerhost.tracker_url(cfg, opts), sites=cfg.sites, order_id=order_id,
                              priority=str(dist.get("priority") or ""), report_every=report_every)


def resend_pending(cfg: MasterSettings, opts: dict[str, Any], minions: Minions, catalog: Catalog,
                   minion: str) -> int:
    """Publish again every order ``minion`` has not answered; returns how many.

    Not answered: no report on the master's current order to it (see
    ``status.current_state``), whatever it reported on earlier ones.
    """
    sent, every = 0, -1
    for dist in catalog.distributions():
        if dist["cancelled"] or minion not in catalog.targets(dist["id"]):
            continue
        row = next((r for r in catalog.host_rows(dist["id"]) if r["minion"] == minion), None)
        if row is None or status.current_state(row) != lifecycle.PENDING:
            continue
        full = catalog.distribution(dist["id"])
        assert full is not None
        every = pacing.pace(cfg, catalog, [minion]) if every < 0 else every  # counted once, if needed
        order = fetch_order(cfg, opts, full, row.get("current_order") or "", every)
        publishing.republish(minions, minion, order)
        sent += 1
    if sent:
        log.info("p2pdist: re-sent %d pending order(s) to %s", sent, minion)
    return sent
