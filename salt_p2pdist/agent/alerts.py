"""Turning libtorrent alerts into agent actions.

Runs on the alert thread. Alert objects die at the next pop_alerts(), so
only plain values are kept. Never waits for another thread: the thread that
holds the engine's operations lock may be waiting for one of these alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import libtorrent as lt

from salt_p2pdist.agent import memory
from salt_p2pdist.agent.bans import peer_ip
from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.agent.waiters import AlertWaiters
from salt_p2pdist.core import lifecycle
from salt_p2pdist.core.quiet import is_quiet_answer

log = logging.getLogger(__name__)


def _dist_id(hashes: Any) -> str:
    return str(hashes.v2)[:16]


def may_move(transfer: Transfer) -> bool:
    """Should a finished download move into dest now? Not after a failed move until ordered again:
    libtorrent reports the download finished again when it is added back from staging."""
    return transfer.record.phase == lifecycle.STAGING and not transfer.place_failed


class AlertHandler:
    """``on_moving`` gets a finished download once it is moving into dest (start the move there);
    ``on_ban`` gets (dist_id, ip) of a peer libtorrent banned."""

    def __init__(self, book: TransferBook, waiters: AlertWaiters, *,
                 on_moving: Callable[[Transfer], None], on_ban: Callable[[str, str], None],
                 on_quiet: Callable[[Transfer], None] = lambda _t: None):
        self.book, self.waiters = book, waiters
        self.on_moving, self.on_ban, self.on_quiet = on_moving, on_ban, on_quiet

    def sweep_finished(self) -> None:
        """Move finished downloads whose torrent_finished_alert was missed.

        A small download can finish before its transfer is in the book (the
        alert then finds nothing), and a burst of alerts can overflow
        libtorrent's queue; either left it staged, shown finishing, for good.
        Runs on the alert thread, like the alert, so only this thread moves.
        """
        for transfer in self.book.all():
            if may_move(transfer) and transfer.handle.status().is_finished \
                    and self.book.move(transfer, lifecycle.MOVING):
                log.info("%s: finished (alert missed); moving it into dest", transfer.dist_id)
                self.on_moving(transfer)

    def handle(self, alert: Any) -> None:
        if isinstance(alert, lt.save_resume_data_alert):
            dist_id = _dist_id(alert.handle.info_hashes())
            data = bytes(lt.write_resume_data_buf(alert.params))
            self.book.save_resume(dist_id, data)
            self.waiters.notify(dist_id, "resume", data)
            memory.release()  # the alert's copies of the resume data are megabytes for a big tree
        elif isinstance(alert, lt.save_resume_data_failed_alert):
            self.waiters.notify(_dist_id(alert.handle.info_hashes()), "resume", None)
        elif isinstance(alert, lt.torrent_removed_alert):
            self.waiters.notify(_dist_id(alert.info_hashes), "removed")
        elif isinstance(alert, lt.torrent_finished_alert):
            transfer = self.book.get(_dist_id(alert.handle.info_hashes()))
            # Only this thread moves a transfer out of staging, so the phase cannot change in between.
            if transfer and may_move(transfer) and self.book.move(transfer, lifecycle.MOVING):
                self.on_moving(transfer)
        elif isinstance(alert, lt.torrent_error_alert) and "dh params" in alert.message():
            pass  # no DH parameters is deliberate: TLS peers use ECDHE (certify.py)
        elif isinstance(alert, (lt.file_error_alert, lt.torrent_error_alert)):
            transfer = self.book.get(_dist_id(alert.handle.info_hashes()))
            if transfer is not None:
                self.book.set_error(transfer, alert.message())
            log.error("%s", alert.message())
        elif isinstance(alert, lt.peer_ban_alert):
            self.on_ban(_dist_id(alert.handle.info_hashes()), peer_ip(alert))
        elif isinstance(alert, lt.hash_failed_alert):
            log.warning("%s: fetching it again from another peer", alert.message())
        elif isinstance(alert, lt.tracker_error_alert) and is_quiet_answer(alert.failure_reason()):
            transfer = self.book.get(_dist_id(alert.handle.info_hashes()))
            if transfer is not None and transfer.record.phase == lifecycle.PLACED:
                self.on_quiet(transfer)  # its swarm is quiet: close the torrent (quieting.py)
        elif isinstance(alert, lt.tracker_error_alert):
            log.warning("%s", alert.message())
