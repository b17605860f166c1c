"""Background distributions yield the WAN link to the office's own traffic.

On a host that fetches a background distribution over the WAN (its site's WAN
fetcher: the bytes come from the origin or other sites), the agent times a
TCP connect to the master's tracker every few hundred milliseconds. The
connect's round trip crosses the branch link, and grows when the link's queue
fills: the delay controller (core/yielding.py) turns it into a download limit
for the background downloads. Normal and urgent distributions, and hosts that
fetch from their own site's LAN, are never limited here.

A TCP connect is measured with the standard socket API on every platform
(Windows too); the tracker's kernel answers it, so a busy master does not
read as a queue.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.downlimit import DownloadLimits
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.core import lifecycle
from salt_p2pdist.core.linkreadings import SAMPLE_S
from salt_p2pdist.core.priority import BACKGROUND
from salt_p2pdist.core.yielding import DelayController, share

log = logging.getLogger(__name__)
# A download counts as over the WAN while its bytes from the origin or other sites
# grew within this long (the peer sampler adds them up once a second).
WAN_RECENT_S = 5.0
IDLE_CHECK_S = 1.0
PROBE_TIMEOUT_S = 2.0
RATE_SAMPLES = 5  # the rate that came in: over the last five steps (one second)
TELL_EVERY_S = 10.0  # the log says how it yields this often while it does

Probe = Callable[[str, int], float | None]


def connect_rtt(host: str, port: int) -> float | None:
    """Seconds a TCP connect to ``host:port`` takes; None if it fails."""
    start = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            return time.perf_counter() - start
    except OSError:
        return None


def wan_bytes(transfer: Transfer) -> int:
    totals = transfer.ledger.totals if transfer.ledger is not None else {}
    return int(totals.get("from_remote", 0)) + int(totals.get("from_origin", 0))


def background_download(transfer: Transfer) -> bool:
    """A background distribution this host is downloading (not yet placed)."""
    record = transfer.record
    return record.level() == BACKGROUND and record.mode == "fetch" and record.phase == lifecycle.STAGING


def received_bytes(transfer: Transfer) -> int:
    """What the download received in this session (every peer, protocol included)."""
    return int(transfer.handle.status().total_download)


class Yielder:
    def __init__(self, book: TransferBook, limits: DownloadLimits | None = None, probe: Probe = connect_rtt,
                 clock: Callable[[], float] = time.monotonic,
                 received: Callable[[Transfer], int] = received_bytes):
        self.book, self.probe, self.clock, self.received = book, probe, clock, received
        self.limits = limits or DownloadLimits()  # the download limit's one owner (with the hold-back)
        self.controller = DelayController()
        self._wan_seen: dict[str, tuple[int, float]] = {}  # dist_id -> (WAN bytes, when they grew)
        self._any_seen: dict[str, tuple[int, float]] = {}  # dist_id -> (bytes received, when they grew)
        self._told = 0.0
        self._limited: dict[str, Transfer] = {}  # downloads this limits now
        self._totals: dict[str, int] = {}  # dist_id -> bytes it had received at the last step
        self._received = 0  # bytes the yielding downloads received, summed over the steps
        self._counted: deque[tuple[float, int]] = deque(maxlen=RATE_SAMPLES + 1)

    def over_wan(self, transfer: Transfer, now: float) -> bool:
        wan = self._grew(self._wan_seen, transfer.dist_id, wan_bytes(transfer), now)
        got_any = self._grew(self._any_seen, transfer.dist_id, self.received(transfer), now)
        # Limited to the floor, a download may get nothing at all for a while (seen in the WAN
        # lab: 0 bytes for 5 s beside the office's flow). Its limit starves it; it has not left
        # the WAN, and lifting the limit would take the link from the office's flow. It has left
        # once its bytes come from site-mates only.
        return wan or (transfer.dist_id in self._limited and not got_any)

    @staticmethod
    def _grew(seen: dict[str, tuple[int, float]], dist_id: str, count: int, now: float) -> bool:
        """Whether ``count`` grew within the last WAN_RECENT_S."""
        last_count, last_grew = seen.get(dist_id, (0, -WAN_RECENT_S))
        if count > last_count:
            last_grew = now
        seen[dist_id] = (count, last_grew)
        return now - last_grew < WAN_RECENT_S

    def yielding(self, now: float) -> list[Transfer]:
        """The background downloads this host makes over the WAN now; not those held back for a
        higher priority (they yield to it at a trickle already, and would take a part of the limit)."""
        return [t for t in self.book.all() if background_download(t) and not t.held_by
                and t.record.tracker and self.over_wan(t, now)]

    def held(self) -> bool:
        """Some background download is held back for a higher priority one."""
        return any(background_download(t) and t.held_by for t in self.book.all())

    def step(self) -> bool:
        """One measurement and one limit; True while some download yields."""
        now = self.clock()
        downloads = self.yielding(now)
        for gone in set(self._limited) - {t.dist_id for t in downloads}:
            self._lift(self._limited.pop(gone))
        if not downloads:
            if not self.held():  # one held back for a moment keeps what was learnt of the link
                self.controller.reset()
            self._counted.clear()  # the next one's rate is counted from its own start
            return False
        url = urlsplit(downloads[0].record.tracker)
        rtt = self.probe(url.hostname or "", url.port or (443 if url.scheme == "https" else 80))
        rate = self._rate(now, downloads)
        before = self.controller.limit_bps
        limit = share(self.controller.step(now, rtt, rate), len(downloads))
        for t in downloads:
            self._apply(t, limit)
        if (before is None) != (self.controller.limit_bps is None) or now - self._told >= TELL_EVERY_S:
            self._told = now
            delay = self.controller.queue_delay_s()
            log.info("background downloads over the WAN: %s (queue %s ms, in %.0f kB/s, peak %.0f kB/s)",
                     f"limited to {limit / 1000:.0f} kB/s" if limit > 0 else "not limited",
                     "?" if delay is None else f"{delay * 1000:.0f}", rate / 1000,
                     self.controller.peak_bps() / 1000)
        return True

    def _rate(self, now: float, downloads: list[Transfer]) -> float:
        """Bytes/s the downloads received over the last second, from their byte counters:
        libtorrent's own rate is a moving average of several seconds, too slow to tell
        that another flow took a part of the link."""
        totals = {t.dist_id: self.received(t) for t in downloads}
        self._received += sum(max(0, n - self._totals.get(d, n)) for d, n in totals.items())
        self._totals = totals
        self._counted.append((now, self._received))
        (t0, b0), (t1, b1) = self._counted[0], self._counted[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def _apply(self, transfer: Transfer, limit: int) -> None:
        """Our limit (-1: none) for a download; the owner combines it with a hold-back."""
        if limit > 0:
            self._limited[transfer.dist_id] = transfer
            self.limits.set_yield(transfer, limit)
        elif self._limited.pop(transfer.dist_id, None) is not None:
            self.limits.set_yield(transfer, None)

    def _lift(self, transfer: Transfer) -> None:
        # Its torrent may have left the session (moved into dest, removed): forgotten all the same.
        with contextlib.suppress(RuntimeError):
            self.limits.set_yield(transfer, None)


def yield_loop(yielder: Yielder, stop: threading.Event) -> None:
    every = IDLE_CHECK_S
    while not stop.wait(every):
        try:
            every = SAMPLE_S if yielder.step() else IDLE_CHECK_S
        except Exception:  # a transfer removed mid-step: the next step sees the book as it is
            log.exception("yielding the WAN link failed")
