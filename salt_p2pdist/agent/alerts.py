"""Turning libtorrent alerts into engine actions.

Runs on the engine's alert thread. Alert objects die at the next
pop_alerts(), so only plain values are kept. Never takes the engine lock:
the thread that holds it may be waiting for one of these alerts.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import libtorrent as lt

from salt_p2pdist.agent import placing
from salt_p2pdist.agent.bans import peer_ip
from salt_p2pdist.agent.finishing import finish

if TYPE_CHECKING:
    from salt_p2pdist.agent.engine import Engine

log = logging.getLogger(__name__)


def _dist_id(hashes: Any) -> str:
    return str(hashes.v2)[:16]


def handle_alert(engine: Engine, alert: Any) -> None:
    if isinstance(alert, lt.save_resume_data_alert):
        dist_id = _dist_id(alert.handle.info_hashes())
        data = bytes(lt.write_resume_data_buf(alert.params))
        if dist_id in engine.transfers:
            engine.store.save_resume(dist_id, data)
        engine._notify(dist_id, "resume", data)
    elif isinstance(alert, lt.save_resume_data_failed_alert):
        engine._notify(_dist_id(alert.handle.info_hashes()), "resume", None)
    elif isinstance(alert, lt.torrent_removed_alert):
        engine._notify(_dist_id(alert.info_hashes), "removed")
    elif isinstance(alert, lt.torrent_finished_alert):
        transfer = engine.transfers.get(_dist_id(alert.handle.info_hashes()))
        if transfer and placing.may_place(transfer):
            transfer.finishing = True
            threading.Thread(target=finish, args=(engine, transfer), daemon=True).start()
    elif isinstance(alert, lt.torrent_error_alert) and "dh params" in alert.message():
        pass  # no DH parameters is deliberate: TLS peers use ECDHE (certify.py)
    elif isinstance(alert, (lt.file_error_alert, lt.torrent_error_alert)):
        transfer = engine.transfers.get(_dist_id(alert.handle.info_hashes()))
        if transfer is not None:
            transfer.error = alert.message()
        log.error("%s", alert.message())
    elif isinstance(alert, lt.peer_ban_alert):
        engine.ban_peer(_dist_id(alert.handle.info_hashes()), peer_ip(alert))
    elif isinstance(alert, lt.hash_failed_alert):
        log.warning("%s: fetching it again from another peer", alert.message())
    elif isinstance(alert, lt.tracker_error_alert):
        log.warning("%s", alert.message())
