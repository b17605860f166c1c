"""Holding a torrent back on the WAN because a higher-priority one needs the link.

The master's tracker decides (core/priority.py, tracker/priorities.py) and
says so with each WAN share (``/wan``): the torrents this host fetches across
its site's WAN link that must yield, and to whom. Here that becomes a
per-torrent download limit at a trickle (``priority.TRICKLE``), set by the
limit's one owner (downlimit.py, which combines it with yielding): the held
torrent keeps its connections but leaves the link to the higher one. Uploads
are not limited, so a held fetcher still serves its site-mates over the LAN,
and site-mates that download over the LAN are never told to hold.

On the master, the origin (:func:`origin_limits`) serves the same way: a
swarm held at the origin is uploaded at a trickle while a higher one still
needs the HQ uplink, which every site shares.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.downlimit import UNLIMITED, DownloadLimits
from salt_p2pdist.core import priority
from salt_p2pdist.tracker.priorities import held_at_origin
from salt_p2pdist.tracker.tracker import Tracker

log = logging.getLogger(__name__)
ORIGIN_EVERY_S = 2.0


class Holds:
    """The tracker's latest word on what this host holds back, applied to the session."""

    def __init__(self, book: TransferBook, limits: DownloadLimits | None = None):
        self.book = book
        self.limits = limits or DownloadLimits()
        self.held: dict[str, str] = {}  # dist id -> the dist id it yields to

    def set(self, held: Mapping[str, str]) -> None:
        held = {str(k): str(v) for k, v in held.items()}
        for dist_id in sorted(set(held) - set(self.held)):
            log.info("%s: held back on the WAN while %s (higher priority) needs the link",
                     dist_id, held[dist_id])
        for dist_id in sorted(set(self.held) - set(held)):
            log.info("%s: no longer held back on the WAN", dist_id)
        self.held = held
        self.apply()

    def apply(self) -> None:
        """Limits as the last word says, also on handles added since (a re-added torrent)."""
        for t in self.book.all():
            if t.record.mode != "fetch":  # a seed (the origin's): origin_limits holds it
                continue
            yields_to = self.held.get(t.dist_id, "")
            if t.held_by != yields_to:
                self.book.set_held(t, yields_to)
            self.limits.apply(t)


def origin_limits(book: TransferBook, held: Mapping[str, str]) -> None:
    """The origin's seeds: held ones upload at a trickle, the others at their own limit."""
    for t in book.all():
        if t.record.mode != "seed":
            continue
        yields_to = held.get(t.dist_id, "")
        want = priority.TRICKLE if yields_to else (t.record.upload_limit or UNLIMITED)
        if t.held_by != yields_to:
            book.set_held(t, yields_to)
            log.info("origin: %s %s", t.dist_id,
                     f"served at a trickle while {yields_to} (higher priority) needs the uplink"
                     if yields_to else "served at its full rate again")
        if t.handle.upload_limit() != want and not (want == UNLIMITED and t.handle.upload_limit() <= 0):
            t.handle.set_upload_limit(want)


def serve_by_priority(tracker: Tracker, lock: AbstractContextManager[Any], book: TransferBook,
                      stop: threading.Event) -> None:
    """The origin's loop: every ORIGIN_EVERY_S, its seeds' upload limits as priorities say."""
    while not stop.wait(ORIGIN_EVERY_S):
        try:
            with lock:  # the tracker's table, as the announce handlers leave it
                held = held_at_origin(tracker.swarms, tracker.wall_clock())
            origin_limits(book, held)
        except Exception:  # a handle removed meanwhile: the next round sees the new one
            log.exception("serving by priority failed")
