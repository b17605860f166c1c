"""Re-adding a torrent: moving a finished download into dest, or lifting bans.

The torrent is removed (its files closed) before the files are renamed into
place, then added again with the resume data saved just before, pointing at
dest: libtorrent then trusts the pieces and seeds without re-hashing. Both
run in worker threads, so the alert loop keeps flowing while they wait.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libtorrent as lt

from salt_p2pdist.agent import memory
from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.transfer import Transfer, status_of
from salt_p2pdist.agent.waiters import AlertWaiters
from salt_p2pdist.core import lifecycle
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.torrent import placement

log = logging.getLogger(__name__)
_SAVE_ALL = lt.torrent_handle.flush_disk_cache  # no info dict: the record has the torrent (adding.py)


class Readder:
    """Removes a transfer's torrent and adds it again; ``start`` adds a record's torrent."""

    def __init__(self, *, book: TransferBook, waiters: AlertWaiters, session: Any,
                 ops_lock: threading.RLock, staging_dir: Path,
                 start: Callable[[OrderRecord, bytes | None], Transfer]):
        self.book, self.waiters, self.session = book, waiters, session
        self.ops_lock, self.staging_dir, self.start = ops_lock, staging_dir, start

    def finish(self, transfer: Transfer) -> None:
        """Worker thread (the transfer is moving): save resume data, remove, move into dest,
        add again as a seed."""
        dist_id, record = transfer.dist_id, transfer.record
        resume, removed = None, False
        # The failure is handled under the same lock as the move: status calls
        # (which take it too) never see the removed torrent's dead handle.
        with self.ops_lock:
            try:
                resume = self._resume_data(transfer)
                if not self.book.is_current(transfer):
                    return  # removed meanwhile
                self._remove_torrent(transfer)
                removed = True
                dest = Path(record.dest)
                placement.place(self.staging_dir / dist_id, dest, transfer.files, force=record.force)
                seen = {"site_seen": transfer.ledger.own_site} if transfer.ledger else {}
                self.book.move(transfer, lifecycle.PLACED,
                               save_path=str(placement.save_path(dest, transfer.meta)), **seen)
                self.book.save_resume(dist_id, resume)
                self.start(record, resume)
                memory.release()  # a big tree's resume data went through libtorrent and Python twice
            except (OSError, P2PDistError, RuntimeError) as exc:
                log.error("finishing %s failed: %s", dist_id, exc)
                self._keep_staged(transfer, resume if removed else None,
                                  f"moving into {record.dest} failed: {exc}")

    def _keep_staged(self, transfer: Transfer, resume: bytes | None, error: str) -> None:
        """One distribution fails, nothing else: the data stays staged and keeps being shared.

        The torrent was removed from the session to close its files before the
        move; a failed move would leave a dead handle behind, which makes every
        status call raise. So it is added again from staging (its resume data
        says every piece is there: no re-hash), marked failed with the reason.
        """
        with self.ops_lock:
            if transfer.record.phase == lifecycle.MOVING:
                self.book.move(transfer, lifecycle.STAGING)
            self.book.set_error(transfer, error, place_failed=True)
            if resume is None or not self.book.is_current(transfer):
                return
            try:
                self.book.set_error(self.start(transfer.record, resume), error, place_failed=True)
            except (RuntimeError, ValueError) as exc:  # the status must not keep a dead handle
                log.error("%s: cannot share it from staging again: %s", transfer.dist_id, exc)
                self.book.pop(transfer.dist_id)

    def retry_place(self, transfer: Transfer) -> None:
        """Ordered again after a failed move into dest: try the move again (in a worker thread)."""
        if not transfer.place_failed or transfer.record.phase != lifecycle.STAGING:
            return
        if not transfer.handle.status().is_finished or not self.book.move(transfer, lifecycle.MOVING):
            return
        threading.Thread(target=self.finish, args=(transfer,), daemon=True).start()

    def forget_bans(self, transfer: Transfer) -> None:
        """Worker thread: re-add a download with an empty peer list, lifting libtorrent's bans.

        libtorrent bans every peer that contributed to a piece failing its hash
        once its trust runs out, so a piece mixing blocks from a corrupt peer and
        the origin can cost the origin's entry, and with it the download's only
        good source. The corrupt peer's address stays blocked (bans.py).
        """
        dist_id = transfer.dist_id
        try:
            params = lt.read_resume_data(self._resume_data(transfer))
            params.banned_peers = []  # resume data carries libtorrent's bans
            resume = bytes(lt.write_resume_data_buf(params))
            with self.ops_lock:
                if not self.book.is_current(transfer) or transfer.record.phase != lifecycle.STAGING:
                    return
                self._remove_torrent(transfer)
                self.book.save_resume(dist_id, resume)
                self.start(transfer.record, resume)
            log.warning("%s: re-added with a fresh peer list so the origin is reachable again", dist_id)
        except (OSError, P2PDistError, RuntimeError) as exc:
            log.error("re-adding %s failed: %s", dist_id, exc)

    def _resume_data(self, transfer: Transfer) -> bytes:
        data = self.waiters.wait(transfer.dist_id, "resume",
                                 lambda: transfer.handle.save_resume_data(_SAVE_ALL))
        if data is None:  # save_resume_data_failed_alert
            raise P2PDistError(f"libtorrent could not save the resume data of {transfer.dist_id}")
        return bytes(data)

    def _remove_torrent(self, transfer: Transfer) -> None:
        """Remove the torrent, first keeping what its handle counted (the next one starts at 0)."""
        fields: dict[str, Any] = {"failed_bytes": status_of(transfer)["failed_bytes"]}
        if transfer.ledger is not None:
            fields["ledger"] = dict(transfer.ledger.totals)
        self.book.update(transfer, **fields)
        self.waiters.wait(transfer.dist_id, "removed", lambda: self.session.remove_torrent(transfer.handle))
