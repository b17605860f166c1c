"""The records of the book (book.py) that have no torrent in the session.

Two shelves: fetches being prepared (staging seeded from older copies, the
torrent added after) and quiet distributions (complete at dest, torrent
closed). They share the book's one lock and write through it: a mixin of
:class:`salt_p2pdist.agent.book.TransferBook`, which owns the state.
"""

from __future__ import annotations

import threading
from typing import Any

from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.store import OrderStore
from salt_p2pdist.agent.transfer import Preparation, Transfer
from salt_p2pdist.core import lifecycle


class BookState:
    """What the book holds, under ``_lock``; changed only by the book and its shelves."""

    def __init__(self, store: OrderStore):
        self._store = store
        self._lock = threading.Lock()
        self._transfers: dict[str, Transfer] = {}
        self._quiet: dict[str, OrderRecord] = {}  # quiet distributions: a record, no torrent
        self._preparing: dict[str, Preparation] = {}  # staging being seeded: a record, no torrent yet

    def _change(self, transfer: Transfer, fields: dict[str, Any], phase: str | None) -> bool:
        raise NotImplementedError

    def _write(self, record: OrderRecord, fields: dict[str, Any], phase: str | None) -> None:
        raise NotImplementedError


class PreparingShelf(BookState):
    def preparing(self) -> list[Preparation]:
        with self._lock:
            return list(self._preparing.values())

    def get_preparing(self, dist_id: str) -> Preparation | None:
        with self._lock:
            return self._preparing.get(dist_id)

    def prepare(self, prep: Preparation) -> None:
        """A fetch whose record (phase preparing) is written: shown until its torrent is added."""
        with self._lock:
            self._preparing[prep.dist_id] = prep

    def pop_preparing(self, dist_id: str) -> Preparation | None:
        """Take a fetch being prepared out (it is being removed); its record stays until ``forget``."""
        with self._lock:
            return self._preparing.pop(dist_id, None)

    def prepared(self, prep: Preparation, **fields: Any) -> bool:
        """The copy ended: phase staging with ``fields``, written; the torrent is added next.
        False if ``prep`` was removed meanwhile."""
        with self._lock:
            if self._preparing.get(prep.dist_id) is not prep:
                return False
            lifecycle.check_phase_move(prep.dist_id, prep.record.phase, lifecycle.STAGING)
            self._write(prep.record, fields, lifecycle.STAGING)
            del self._preparing[prep.dist_id]
            return True

    def amend_preparing(self, prep: Preparation, **fields: Any) -> bool:
        """Another order for a fetch being prepared (order id, targets, level); False if removed."""
        with self._lock:
            if self._preparing.get(prep.dist_id) is not prep:
                return False
            self._write(prep.record, fields, None)
            return True



class QuietShelf(BookState):
    def quiet_records(self) -> list[OrderRecord]:
        with self._lock:
            return list(self._quiet.values())

    def get_quiet(self, dist_id: str) -> OrderRecord | None:
        with self._lock:
            return self._quiet.get(dist_id)

    def keep_quiet(self, record: OrderRecord) -> None:
        """A quiet distribution found on disk at start: kept, its torrent not added."""
        with self._lock:
            self._quiet[record.dist_id] = record

    def go_quiet(self, transfer: Transfer, **fields: Any) -> bool:
        """``transfer`` leaves the session's set (its torrent is removed next); its record stays,
        phase quiet. False if it is no longer current."""
        with self._lock:
            lifecycle.check_phase_move(transfer.dist_id, transfer.record.phase, lifecycle.DORMANT)
            if not self._change(transfer, fields, lifecycle.DORMANT):
                return False
            del self._transfers[transfer.dist_id]
            self._quiet[transfer.dist_id] = transfer.record
            return True

    def wake(self, dist_id: str) -> OrderRecord | None:
        """Take a quiet distribution back (phase placed, or seed for the origin's; written); its
        torrent is added next."""
        with self._lock:
            record = self._quiet.get(dist_id)
            if record is None:
                return None
            awake = lifecycle.awake_phase(record.mode)
            lifecycle.check_phase_move(dist_id, record.phase, awake)
            record.phase = awake
            self._store.save(dist_id, record.to_json())
            del self._quiet[dist_id]
            return record

    def pop_quiet(self, dist_id: str) -> OrderRecord | None:
        """Take a quiet distribution out (it is being removed); its record stays until ``forget``."""
        with self._lock:
            return self._quiet.pop(dist_id, None)
