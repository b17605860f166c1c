"""Re-adding a torrent: moving a finished download into dest, or lifting bans.

The torrent is removed (its files closed) before the files are renamed into
place, then added again with resume data made just before (lightresume.py),
pointing at dest: libtorrent then trusts the pieces and seeds without re-hashing. Both
run in worker threads, so the alert loop keeps flowing while they wait.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Protocol

import libtorrent as lt

from salt_p2pdist.agent import memory, seeding
from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.lightresume import light_resume
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.transfer import Transfer, download_summary, downloaded, status_of
from salt_p2pdist.agent.waiters import AlertWaiters
from salt_p2pdist.core import lifecycle
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.torrent import placement

log = logging.getLogger(__name__)
_SAVE_ALL = lt.torrent_handle.flush_disk_cache  # no info dict: the record has the torrent (adding.py)


class Starter(Protocol):
    """The engine's ``start``: adds a record's torrent, its distribution's current transfer."""

    def __call__(self, record: OrderRecord, resume: bytes | None, *,
                 place_failed: bool = False) -> Transfer: ...


class Readder:
    """Removes a transfer's torrent and adds it again; ``start`` adds a record's torrent."""

    def __init__(self, *, book: TransferBook, waiters: AlertWaiters, session: Any,
                 ops_lock: threading.RLock, staging_dir: Path,
                 start: Starter):
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
                resume = light_resume(transfer)
                if not self.book.is_current(transfer):
                    return  # removed meanwhile
                log.info("%s: complete: %s", dist_id, download_summary(transfer))
                self._remove_torrent(transfer)
                removed = True
                dest = Path(record.dest)
                replaced = self._place_replacing(transfer)
                seen = {"site_seen": transfer.ledger.own_site} if transfer.ledger else {}
                self.book.move(transfer, lifecycle.PLACED, replaced={**record.replaced, **replaced},
                               save_path=str(placement.save_path(dest, transfer.meta)), **seen)
                self.book.save_resume(dist_id, resume)
                self.start(record, resume)
                memory.release()  # what the removed torrent held (a big tree's file lists) is free now
            except (OSError, P2PDistError, RuntimeError) as exc:
                log.error("finishing %s failed: %s", dist_id, exc)
                self._keep_staged(transfer, resume if removed else None,
                                  f"moving into {record.dest} failed: {exc}")

    def _place_replacing(self, transfer: Transfer) -> dict[str, str]:
        """Move the staged files into dest, replacing the older versions there, if any;
        those versions' ids, with their last order's."""
        record, dest = transfer.record, Path(transfer.record.dest)
        older: list[tuple[Transfer, bytes]] = []
        # Older versions gone quiet have no torrent to set aside: their files are replaced as well.
        quiet = [q for q in seeding.quiet_copies(self.book.quiet_records())
                 if q.dist_id in record.supersedes and q.record.dest == record.dest]
        try:
            self._set_aside(record, older)
            theirs = seeding.replaceable(dest, transfer.files, [*(t for t, _ in older), *quiet])
            placement.place(self.staging_dir / transfer.dist_id, dest, transfer.files, force=record.force,
                            replaceable=theirs)
        except (OSError, P2PDistError, RuntimeError):
            self._bring_back(older)  # dest holds the older version still, intact
            raise
        self._retire(older, transfer.dist_id)
        for q in quiet:  # woken later, it would find other files than its own
            self.book.pop_quiet(q.dist_id)
            self.book.forget(q.dist_id)
        replaced: list[seeding.Held] = [*(t for t, _ in older), *quiet]
        return {old.dist_id: old.record.order_id for old in replaced}

    def _set_aside(self, record: OrderRecord, older: list[tuple[Transfer, bytes]]) -> None:
        """Stop sharing the older versions this one replaces at dest, keeping their resume data.

        Their torrents are removed before the move: a file libtorrent holds
        open cannot be replaced on Windows, and once replaced it would serve
        pieces that no longer match its torrent.
        """
        for dist_id in record.supersedes:
            old = self.book.get(dist_id)
            if old is None or old.record.phase != lifecycle.PLACED or old.record.dest != record.dest:
                continue  # removed meanwhile: its files are no longer ours to replace
            resume = light_resume(old)
            self._remove_torrent(old)
            older.append((old, resume))

    def _bring_back(self, older: list[tuple[Transfer, bytes]]) -> None:
        for old, resume in older:
            try:
                self.start(old.record, resume)
            except (RuntimeError, ValueError) as exc:
                log.error("%s: cannot share it again: %s", old.dist_id, exc)

    def _retire(self, older: list[tuple[Transfer, bytes]], newer: str) -> None:
        """The older versions are replaced at dest: forget them (files they alone had stay)."""
        for old, _resume in older:
            self.book.pop(old.dist_id)
            self.book.forget(old.dist_id)
            log.info("%s: replaced at %s by its newer version %s", old.dist_id, old.record.dest, newer)

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
                self.book.set_error(self.start(transfer.record, resume, place_failed=True), error,
                                    place_failed=True)
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
            params = lt.read_resume_data(self.resume_data(transfer))
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

    def resume_data(self, transfer: Transfer) -> bytes:
        """libtorrent's resume data (with the blocks of unfinished pieces and its bans), with the
        download count up to now."""
        data = self.waiters.wait(transfer.dist_id, "resume",
                                 lambda: transfer.handle.save_resume_data(_SAVE_ALL))
        if data is None:  # save_resume_data_failed_alert
            raise P2PDistError(f"libtorrent could not save the resume data of {transfer.dist_id}")
        params = lt.read_resume_data(bytes(data))
        params.total_downloaded = downloaded(transfer, transfer.handle.status())
        return bytes(lt.write_resume_data_buf(params))

    def _remove_torrent(self, transfer: Transfer) -> None:
        """Remove the torrent, first keeping what its handle counted (the next one starts at 0)."""
        fields: dict[str, Any] = {"failed_bytes": status_of(transfer)["failed_bytes"]}
        if transfer.ledger is not None:
            fields["ledger"] = dict(transfer.ledger.totals)
        self.book.update(transfer, **fields)
        self.waiters.wait(transfer.dist_id, "removed", lambda: self.session.remove_torrent(transfer.handle))
