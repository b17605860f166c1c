"""The one owner of the agent's state: its distributions and their records.

API handlers, the alert loop and worker threads all change distributions;
they do it here, under one short lock that is never held while waiting for
libtorrent (the alert loop takes it, and it must never wait on a thread
that waits for an alert). Phase changes follow ``lifecycle.PHASE_MOVES``.
Every change of a record is written to disk before the lock is released, and
only while its transfer is still the distribution's current one: a
distribution removed meanwhile is not brought back by a late write.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from salt_p2pdist.agent.bookshelves import PreparingShelf, QuietShelf
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.core import lifecycle

log = logging.getLogger(__name__)
_FIELDS = frozenset(f.name for f in dataclasses.fields(OrderRecord)) - {"phase", "dist_id"}


class TransferBook(PreparingShelf, QuietShelf):
    """Distributions with a torrent in the session; the shelves hold the others (bookshelves.py)."""

    # -- reading ------------------------------------------------------------
    def get(self, dist_id: str) -> Transfer | None:
        with self._lock:
            return self._transfers.get(dist_id)

    def all(self) -> list[Transfer]:
        """A snapshot: iterating it is safe while other threads add and remove."""
        with self._lock:
            return list(self._transfers.values())

    def is_current(self, transfer: Transfer) -> bool:
        """False once ``transfer`` was removed or replaced (re-added with a new handle)."""
        with self._lock:
            return self._transfers.get(transfer.dist_id) is transfer

    def load(self) -> list[tuple[OrderRecord, bytes | None]]:
        """The records on disk, with their resume data; unusable ones are logged and left."""
        out = []
        for raw, resume in self._store.load_all():
            try:
                out.append((OrderRecord.from_json(raw), resume))
            except (ValueError, TypeError) as exc:
                log.error("cannot resume %s: %s", raw.get("dist_id") if isinstance(raw, dict) else "?", exc)
        return out

    # -- the set of distributions ---------------------------------------------
    def create(self, record: OrderRecord) -> None:
        """A new distribution's record, written before its torrent is added."""
        lifecycle.check_first_phase(record.dist_id, record.phase)
        with self._lock:
            self._store.save(record.dist_id, record.to_json())

    def put(self, transfer: Transfer) -> None:
        """``transfer`` becomes its distribution's current one (new, resumed or re-added)."""
        with self._lock:
            self._transfers[transfer.dist_id] = transfer

    def pop(self, dist_id: str) -> Transfer | None:
        """Take a distribution out; its record stays on disk until ``forget``."""
        with self._lock:
            return self._transfers.pop(dist_id, None)

    def forget(self, dist_id: str) -> None:
        """Drop a removed distribution's record and resume data from disk."""
        with self._lock:
            if all(dist_id not in held for held in (self._transfers, self._quiet, self._preparing)):
                self._store.forget(dist_id)

    def set_priority(self, dist_id: str, level: str) -> OrderRecord | None:
        """The master changed a distribution's level (active or quiet); None if not held here."""
        with self._lock:
            transfer = self._transfers.get(dist_id)
            prep = self._preparing.get(dist_id)
            record = (transfer.record if transfer is not None
                      else prep.record if prep is not None else self._quiet.get(dist_id))
            if record is None:
                return None
            record.priority = level
            self._store.save(dist_id, record.to_json())
            return record

    def resume(self, dist_id: str) -> bytes | None:
        return self._store.resume(dist_id)

    # -- changing one distribution --------------------------------------------
    def move(self, transfer: Transfer, phase: str, **fields: Any) -> bool:
        """Change the phase (and ``fields``) as the table allows, IllegalTransition otherwise;
        False if ``transfer`` is no longer current."""
        with self._lock:
            lifecycle.check_phase_move(transfer.dist_id, transfer.record.phase, phase)
            return self._change(transfer, fields, phase)

    def update(self, transfer: Transfer, **fields: Any) -> bool:
        """Change record fields other than the phase; False if ``transfer`` is no longer current."""
        with self._lock:
            return self._change(transfer, fields, None)

    def set_error(self, transfer: Transfer, error: str, *, place_failed: bool = False) -> None:
        """Why the transfer failed (shown in status), or "" once it is retried.

        ``place_failed``: the move into dest failed, so a finished download is
        not moved again until it is ordered again (finishing.py).
        """
        with self._lock:
            transfer.error = error
            transfer.place_failed = place_failed

    def set_held(self, transfer: Transfer, yields_to: str) -> None:
        """Held back on the WAN by priority (yielding to ``yields_to``), or "" no longer."""
        with self._lock:
            transfer.held_by = yields_to

    def save_resume(self, dist_id: str, data: bytes) -> None:
        with self._lock:
            if dist_id in self._transfers:
                self._store.save_resume(dist_id, data)

    def _change(self, transfer: Transfer, fields: dict[str, Any], phase: str | None) -> bool:
        if self._transfers.get(transfer.dist_id) is not transfer:
            log.info("%s: removed or replaced meanwhile; its record stays as it is", transfer.dist_id)
            return False
        self._write(transfer.record, fields, phase)
        return True

    def _write(self, record: OrderRecord, fields: dict[str, Any], phase: str | None) -> None:
        wrong = set(fields) - _FIELDS
        if wrong:
            raise TypeError(f"not changeable order record fields: {sorted(wrong)}")
        for name, value in fields.items():
            setattr(record, name, value)
        if phase is not None:
            record.phase = phase
        self._store.save(record.dist_id, record.to_json())
