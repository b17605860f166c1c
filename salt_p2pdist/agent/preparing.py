"""Seeding a new version's staging from older copies, in a worker thread, then adding its torrent.

A new version of a multi-GiB image starts from the old one: copying it (and
hashing held files said to be identical) runs at disk speed, far longer than
the 30 s the master's call to the minion may take. So the order is only
recorded (phase preparing) and answered at once; this worker copies, then
adds the torrent, whose check pass keeps what matches. If the copy fails the
torrent is added all the same (the reason is logged): what staging holds is
whole files only (files/prefixcopy.py), the rest is downloaded.

Removing the distribution, or the agent stopping, stops the copy within a
chunk (1 MiB). An agent that stops or crashes mid-copy finds the record in
phase preparing at its next start and copies what is still missing: copies
are renamed into place whole, and the unfinished one is swept first. Nothing
reaches dest before libtorrent has verified every piece (finishing.py).
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from salt_p2pdist.agent import seeding
from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.transfer import Preparation, Transfer, preparing_status
from salt_p2pdist.core import delta
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.files.prefixcopy import CopyStopped
from salt_p2pdist.torrent import placement, reuse
from salt_p2pdist.torrent.metainfo import TorrentMeta, describe

log = logging.getLogger(__name__)
STOP_WAIT_S = 30.0  # a copy stops within a chunk; this bounds a disk that hangs


class Preparer:
    """``start`` adds a record's torrent (the engine's); ``held`` lists what this host holds."""

    def __init__(self, *, book: TransferBook, ops_lock: threading.RLock, staging_dir: Path,
                 start: Callable[[OrderRecord, bytes | None, TorrentMeta], Transfer],
                 held: Callable[[], Sequence[seeding.Held]]):
        self.book, self.ops_lock, self.staging_dir = book, ops_lock, staging_dir
        self.start, self.held = start, held
        # Called with each chunk's bytes, in the worker: tests slow the copy down with it.
        self.pace: Callable[[int], None] = lambda _n: None

    def begin(self, record: OrderRecord, meta: TorrentMeta, seeds: list[delta.Seed]) -> dict[str, Any]:
        """Copy ``seeds`` into staging in a worker thread (the record, phase preparing, is written);
        the status to answer the order with."""
        prep = Preparation(record=record, meta=meta, seeds=seeds)
        self.book.prepare(prep)
        threading.Thread(target=self._run, args=(prep,), name=f"prepare-{prep.dist_id}", daemon=True).start()
        return preparing_status(prep)

    def resume(self, record: OrderRecord) -> None:
        """At start: a copy the last run did not finish is done again, from what staging holds."""
        meta = describe(base64.b64decode(record.torrent))
        swept = reuse.sweep_partial(self.staging_dir / record.dist_id)
        seeds = seeding.choose(Path(record.dest), placement.dest_files(meta), self.held())
        log.info("%s: seeding staging from older copies again (%d unfinished cop%s removed)",
                 record.dist_id, swept, "y" if swept == 1 else "ies")
        self.begin(record, meta, seeds)

    def halt_all(self, timeout: float) -> None:
        """The agent stops: every copy stops; their records stay in phase preparing (resumed)."""
        for prep in self.book.preparing():
            prep.stop.set()
        for prep in self.book.preparing():
            prep.left.wait(timeout)

    def _go_on(self, prep: Preparation) -> Callable[[int], bool]:
        def go_on(copied: int) -> bool:
            self.pace(copied)
            return prep.go_on(copied)
        return go_on

    def _run(self, prep: Preparation) -> None:
        tally = reuse.Tally()
        try:
            reuse.seed_staging(self.staging_dir / prep.dist_id, prep.files, prep.seeds, tally=tally,
                               go_on=self._go_on(prep))
        except CopyStopped:
            log.info("%s: seeding staging stopped (removed, or the agent stops)", prep.dist_id)
            return
        except Exception as exc:  # whatever it is, the download goes on without the rest of the copy
            log.warning("%s: seeding staging from older copies failed after %d bytes (%s); adding the "
                        "torrent now, libtorrent downloads the rest", prep.dist_id, tally.seeded, exc)
        finally:
            prep.left.set()
        self._add(prep, tally)

    def _add(self, prep: Preparation, tally: reuse.Tally) -> None:
        with self.ops_lock:
            # Removed meanwhile (its staging is gone), or the agent stops (resumed at its next start).
            if prep.stop.is_set() or not self.book.prepared(prep, reused=tally.reused, seeded=tally.seeded):
                return
            try:
                self.start(prep.record, None, prep.meta)
            except (P2PDistError, RuntimeError) as exc:  # recorded as staging: added at the next start
                log.error("%s: adding its torrent after seeding staging failed: %s", prep.dist_id, exc)
                return
        log.info("%s: staging seeded with %d bytes (%d identical); libtorrent checks them",
                 prep.dist_id, tally.seeded, tally.reused)
