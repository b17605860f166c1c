"""Quiet distributions: closing a torrent whose swarm went quiet, and waking it again.

The master's tracker answers a holder's announce with ``QUIET_REASON`` once
the swarm's grace has passed (core/quiet.py). The agent then closes the
torrent: no announces, no open torrent, no serving. The files stay at dest;
the record (phase quiet) and the resume data saved just before stay on disk,
so waking adds the torrent again without hashing the files -- unless they
changed meanwhile (size or modification time), then libtorrent checks them.
The origin's seed goes quiet the same way, told by its own tracker's table
instead of an answer (originquiet.py); its files are the pushed path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.lightresume import light_resume
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.transfer import Transfer, recheck, status_of
from salt_p2pdist.agent.waiters import AlertWaiters
from salt_p2pdist.core import lifecycle
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.torrent import placement
from salt_p2pdist.torrent.metainfo import TorrentMeta

log = logging.getLogger(__name__)


def files_at(record: OrderRecord, meta: TorrentMeta) -> str:
    """Where the files lie: dest for a fetched copy, the pushed path's folder for the origin's seed."""
    return record.dest or str(placement.base_of(Path(record.save_path), meta))


def dest_stamp(dest: str, meta: TorrentMeta) -> list[list[Any]]:
    """[path, size, mtime_ns] of each file under ``dest``; size -1 for a missing one."""
    stamp: list[list[Any]] = []
    for rel, _size, _root in placement.dest_files(meta):
        try:
            st = (Path(dest) / rel).stat()
            stamp.append([rel, st.st_size, st.st_mtime_ns])
        except OSError:
            stamp.append([rel, -1, 0])
    return stamp


class Quieter:
    """``start`` adds a record's torrent (the engine's)."""

    def __init__(self, *, book: TransferBook, waiters: AlertWaiters, session: Any,
                 ops_lock: threading.RLock, start: Callable[[OrderRecord, bytes | None], Transfer]):
        self.book, self.waiters, self.session, self.ops_lock = book, waiters, session, ops_lock
        self.start = start

    def quiet(self, transfer: Transfer) -> bool:
        """Worker thread: the tracker said the swarm is quiet; close the torrent, keep the rest.
        True if it closed it."""
        dist_id = transfer.dist_id
        with self.ops_lock:
            if not self.book.is_current(transfer) or not lifecycle.can_go_quiet(transfer.record.phase):
                return False  # already quiet, removed, or not complete where it lies
            where = files_at(transfer.record, transfer.meta)
            try:
                # The agent's own (lightresume.py): woken, the seed holds no block hashes.
                self.book.save_resume(dist_id, light_resume(transfer))
                status = status_of(transfer)
                fields: dict[str, Any] = {"failed_bytes": status["failed_bytes"],
                                          "uploaded": status["uploaded"],  # still reported while quiet
                                          "dest_stamp": dest_stamp(where, transfer.meta)}
                if transfer.ledger is not None:
                    fields["ledger"] = dict(transfer.ledger.totals)
                if not self.book.go_quiet(transfer, **fields):
                    return False
                self.waiters.wait(dist_id, "removed", lambda: self.session.remove_torrent(transfer.handle))
            except (OSError, P2PDistError, RuntimeError) as exc:
                log.error("%s: closing its quiet torrent failed: %s", dist_id, exc)
                return False
        log.info("%s: swarm quiet; torrent closed, the files stay at %s", dist_id, where)
        return True

    def wake(self, dist_id: str) -> Transfer | None:
        """A quiet distribution shared again (None if it is not quiet here)."""
        with self.ops_lock:
            record = self.book.wake(dist_id)
            if record is None:
                return None
            transfer = self.start(record, self.book.resume(dist_id))
            where = files_at(record, transfer.meta)
            if record.dest_stamp != dest_stamp(where, transfer.meta):
                log.info("%s: its files at %s changed while quiet; checking them", dist_id, where)
                recheck(transfer.handle)
            self.book.update(transfer, dest_stamp=[])
        log.info("%s: woken; shared from %s again", dist_id, where)
        return transfer
