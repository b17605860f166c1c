"""The agent's two background loops: libtorrent alerts, and peer sampling."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING

import libtorrent as lt

from salt_p2pdist.agent.alerts import handle_alert

if TYPE_CHECKING:
    from salt_p2pdist.agent.engine import Engine

log = logging.getLogger(__name__)
RESUME_EVERY_S = 30.0
PEER_SAMPLE_EVERY_S = 1.0


def alert_loop(engine: Engine) -> None:
    """Alerts to actions; every RESUME_EVERY_S, policy windows and resume data."""
    last_save = 0.0
    while not engine._stop.is_set():
        engine.session.wait_for_alert(500)
        for alert in engine.session.pop_alerts():
            try:
                handle_alert(engine, alert)
            except Exception:  # one bad alert must not stop the session's bookkeeping
                log.exception("handling %s failed", type(alert).__name__)
        if time.monotonic() - last_save > RESUME_EVERY_S:
            last_save = time.monotonic()
            engine.policy.tick(datetime.now())  # time windows open and close
            # No engine lock here: a finishing worker may hold it while it
            # waits for an alert that only this loop can deliver.
            for t in list(engine.transfers.values()):
                if t.handle.need_save_resume_data():
                    t.handle.save_resume_data(lt.torrent_handle.save_info_dict)

def sample_peers(engine: Engine) -> None:
    """Bytes by source (own site, elsewhere, origin) for each fetch, once a second."""
    # get_peer_info() blocks on libtorrent's network thread (the bindings
    # cannot convert peer_info_alert's list), so it runs in a thread of
    # its own where a slow answer delays nothing else.
    while not engine._stop.wait(PEER_SAMPLE_EVERY_S):
        for t in list(engine.transfers.values()):
            try:
                if t.ledger is not None and not t.finishing and not t.handle.status().is_seeding:
                    t.ledger.sample(t.handle.get_peer_info())
            except Exception:
                log.exception("sampling peers of %s failed", t.dist_id)
