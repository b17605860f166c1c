"""The one owner of a fetch's download limit (libtorrent's per-torrent limit).

Two things hold a fetch's download back on the WAN: the tracker's priority
hold-back (holding.py: a trickle while a higher-priority distribution needs the
site's link) and a background download's yielding to the office's own traffic
(yielder.py). Each says here what it wants; the torrent gets the lower of the
two, set in this one place. Neither lifts the other's limit, and the one that
ends first leaves the other in force.
"""

from __future__ import annotations

import threading

from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.core import priority

UNLIMITED = -1  # libtorrent: no per-torrent limit


class DownloadLimits:
    def __init__(self) -> None:
        # The hold-back's thread and the yielder's both apply: one at a time, so that
        # neither sets a limit computed before the other's change.
        self._lock = threading.RLock()
        self._yielding: dict[str, int] = {}  # dist id -> bytes/s its background yielding allows

    def wanted(self, transfer: Transfer) -> int:
        """The limit ``transfer`` must have now (UNLIMITED: none)."""
        held = priority.TRICKLE if transfer.held_by else 0
        limits = [v for v in (held, self._yielding.get(transfer.dist_id, 0)) if v > 0]
        return min(limits) if limits else UNLIMITED

    def apply(self, transfer: Transfer) -> None:
        """Set the limit as the hold-back and the yielding say (also on a re-added handle)."""
        with self._lock:
            want = self.wanted(transfer)
            current = int(transfer.handle.download_limit())
            if current != want and not (want == UNLIMITED and current <= 0):
                transfer.handle.set_download_limit(want)

    def set_yield(self, transfer: Transfer, limit: int | None) -> None:
        """The yielder's limit for ``transfer`` (None or <= 0: it no longer limits it)."""
        with self._lock:
            if limit is not None and limit > 0:
                self._yielding[transfer.dist_id] = limit
            else:
                self._yielding.pop(transfer.dist_id, None)
            self.apply(transfer)
