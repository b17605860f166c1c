"""The origin's seeds go quiet with their swarms, and wake with them.

A holder learns that its swarm is quiet from the tracker's answer to its
announce (quieting.py). The origin announces to no tracker: it hosts the
tracker, which hands it out itself. So it reads the same table instead, every
SETTLE_EVERY_S and at once when the master sets a swarm's quiet time
(trackerside.py): a seed whose swarm no longer needs it (Swarm.needs_origin)
is closed by the minions' own Quieter (resume data saved, record and files
kept), and a quiet seed is opened again from its resume data once its swarm
is woken, or while a host fetches in it with no holder awake. The tracker
stops handing the origin out before its torrent closes, and hands it out
again once it is open.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.torrent.metainfo import TorrentMeta, describe
from salt_p2pdist.tracker.tracker import Tracker

log = logging.getLogger(__name__)
SETTLE_EVERY_S = 2.0
SEEDING, QUIET, STOPPED = "seeding", "quiet", "stopped"  # the origin's part in a swarm (status)


def moves(open_ids: Iterable[str], quiet_ids: Iterable[str],
          needed: Mapping[str, bool]) -> tuple[list[str], list[str]]:
    """(open seeds to close, quiet seeds to open), as ``needed`` (dist id -> does its swarm need
    the origin) says. A seed whose swarm the tracker does not know is left as it is."""
    return (sorted(d for d in open_ids if needed.get(d) is False),
            sorted(d for d in quiet_ids if needed.get(d)))


def quiet_seeds(book: TransferBook) -> list[OrderRecord]:
    return [r for r in book.quiet_records() if r.mode == "seed"]


def meta_of(record: OrderRecord) -> TorrentMeta:
    return describe(base64.b64decode(record.torrent))


def part_of(book: TransferBook, dist_id: str) -> str:
    """The origin's part in ``dist_id``'s swarm: seeding, quiet (closed with its swarm; it opens
    when the swarm wakes) or stopped (stop_seeding, or never seeded)."""
    t = book.get(dist_id)
    if t is not None and t.record.mode == "seed":
        return SEEDING
    quiet = book.get_quiet(dist_id)
    return QUIET if quiet is not None and quiet.mode == "seed" else STOPPED


class QuietOrigin:
    """``lock`` guards the tracker's table; ``register`` hands an open seed out again."""

    def __init__(self, engine: Engine, tracker: Tracker, lock: AbstractContextManager[Any],
                 register: Callable[[Transfer], None]):
        self.engine, self.tracker, self.lock, self.register = engine, tracker, lock, register
        # One decision and its acts at a time: a wake (the master's call) decided after a
        # close that is still under way finds the seed closed, and opens it. The agent's API
        # holds it too while it adds or drops a seed (app.py).
        self.settling = threading.RLock()

    def settle(self, only: str | None = None) -> tuple[list[str], list[str]]:
        """Close and open the seeds (``only`` that one) as their swarms need; (closed, opened)."""
        book = self.engine.book
        with self.settling:
            seeds = [t.dist_id for t in book.all() if t.record.mode == "seed"]
            quiet = [r.dist_id for r in quiet_seeds(book)]
            with self.lock:
                needed = self.tracker.needing_origin()
            close, reopen = moves([d for d in seeds if only in (None, d)],
                                  [d for d in quiet if only in (None, d)], needed)
            return [d for d in close if self._close(d)], [d for d in reopen if self._open(d)]

    def _close(self, dist_id: str) -> bool:
        t = self.engine.book.get(dist_id)
        if t is None:
            return False
        with self.lock:  # handed out no more: a host must not dial a torrent about to close
            swarm = self.tracker.swarms.get(bytes.fromhex(t.meta.info_hash)[:20])
            if swarm is not None:
                swarm.origin_port = 0
        if self.engine.quiet(dist_id):
            return True
        if self.engine.book.is_current(t):  # it could not close: it serves on
            self.register(t)
        return False

    def _open(self, dist_id: str) -> bool:
        try:
            self.engine.wake(dist_id)
        except (P2PDistError, RuntimeError) as exc:
            log.error("origin: %s: cannot open its seed again: %s", dist_id, exc)
            return False
        t = self.engine.book.get(dist_id)
        if t is not None:
            self.register(t)
        return t is not None


def settle_loop(origin: QuietOrigin, stop: threading.Event) -> None:
    while not stop.wait(SETTLE_EVERY_S):
        try:
            origin.settle()
        except Exception:  # a seed removed meanwhile: the next round sees the book as it is
            log.exception("origin: settling quiet seeds failed")
