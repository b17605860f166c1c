"""What the background downloads' controller reads of a WAN link: the idle round trip, the
queueing delay and the most that came in lately (pure).

Apart from the control law (yielding.py) because these are the measurements,
not what is done about them: as in LEDBAT (RFC 6817), the idle link's round
trip ("base") is the smallest seen lately, and the queueing delay is the
latest round trip minus the base.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

# One round trip every SAMPLE_S.
SAMPLE_S = 0.2
# The queueing delay read is the median of the last CURRENT_SAMPLES round trips: one delayed
# answer (a busy server, a busy CPU) is not taken for a queue.
CURRENT_SAMPLES = 3
# The base is the minimum of the last BASE_BUCKETS minima of BASE_BUCKET_S each (LEDBAT's
# base history): a route that changed forgets its old base within ten minutes.
BASE_BUCKET_S = 60.0
BASE_BUCKETS = 10
# The peak is the most that came in for SUSTAIN_S in a row (every 1 s rate read over that
# span at least that) in the last PEAK_BUCKETS buckets of BASE_BUCKET_S. Not the most of
# one 1 s rate: after the agent or its host stalled for a moment (a busy CPU), the kernel's
# buffers hand over at once what the link delivered meanwhile, and every 1 s rate read
# within the next second counts it. In the WAN lab such a rate read a third above the link's,
# and a download alone at the link's rate then looked a quarter below its peak, as if
# another flow had taken a part, and yielded to its own queue. Longer than 1 s, so no span
# is only readings that count the burst; not much longer, because the peak is learnt while
# a download ramps up, and an office flow may start seconds later (3 s learnt too low a
# peak in the lab, and the download yielded to that flow 13 s late).
SUSTAIN_S = 1.5
PEAK_BUCKETS = 3


@dataclass
class LinkReadings:
    """The round trips and rates a host's background downloads measured on the WAN link."""

    _current: deque[float] = field(default_factory=lambda: deque(maxlen=CURRENT_SAMPLES))
    _base: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=BASE_BUCKETS))
    _peak: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=PEAK_BUCKETS))

    def peak_bps(self) -> float:
        return max((m for _, m in self._peak), default=0.0)

    def base_s(self) -> float | None:
        return min(m for _, m in self._base) if self._base else None

    def queue_delay_s(self) -> float | None:
        base = self.base_s()
        if base is None or not self._current:
            return None
        recent = sorted(self._current)
        return max(0.0, recent[len(recent) // 2] - base)

    def remember(self, now: float, rtt_s: float, learnt_bps: float) -> None:
        """One round trip, and the rate that came in (0.0 when it is not to count for the peak)."""
        bucket = int(now // BASE_BUCKET_S)
        for history, value, keep in ((self._base, rtt_s, min), (self._peak, learnt_bps, max)):
            if history and history[-1][0] == bucket:
                history[-1] = (bucket, keep(history[-1][1], value))
            else:
                history.append((bucket, value))
        self._current.append(rtt_s)

    def forget_download(self) -> None:
        """The next download reads its own queue and learns its own peak; the idle link's base stays."""
        self._peak.clear()
        self._current.clear()


@dataclass
class SustainedRate:
    """The least of the rates fed over the last SUSTAIN_S: what came in for that long in a row.

    0.0 until the rates span SUSTAIN_S (a short reading says nothing of the link).
    """

    _rates: deque[tuple[float, float]] = field(default_factory=deque)
    _since: float | None = None

    def add(self, now: float, rate_bps: float) -> float:
        if self._since is None:
            self._since = now
        self._rates.append((now, rate_bps))
        while now - self._rates[0][0] > SUSTAIN_S:
            self._rates.popleft()
        return min(r for _, r in self._rates) if now - self._since >= SUSTAIN_S else 0.0

    def clear(self) -> float:
        self._rates.clear()
        self._since = None
        return 0.0
