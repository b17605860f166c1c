"""A WAN fetcher that slows down: judged against what its site has shown it can do.

A fetcher whose host falls to a fraction of its link (a throttled or
renegotiated NIC, a saturated disk, a host busy with something else) still
makes progress, so the stall rule (fetchers.py: no progress for a minute)
never fires, and its whole site waits on it. The tracker sees a fetcher's
progress only at its announces (every few seconds while it holds a seat,
see intervals.py), so it judges the rate between announces:

- a site's *peak* in a swarm is the best rate one of its fetchers kept up
  over at least ``WINDOW_S``;
- a fetcher is *slow* when over its last ``WINDOW_S`` or more (counted from
  ``SETTLE_S`` after it got its seat: it has peers to connect to first) it
  went at less than ``1 / SLOW_RATIO`` of that peak, with more than a
  window's worth at peak still missing (its last pieces go slower anyway).

A slow fetcher gives up its seat (fetchers.py benches it, as a stalled one).
If its successor is slow as well, the link is what slowed (the office's own
traffic, a congested WAN), not the host: the site's peak comes down to what
the successor does, and nobody else is swapped out until a fetcher is fast
again. Fetchers held back by priority, and background swarms (which yield
to the office's traffic on purpose, agent/yielder.py), are not judged.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

WINDOW_S = 5.0  # shortest span a rate is judged over (about two fetcher announces)
SETTLE_S = 2.0  # a new fetcher's first seconds: connecting to its remote peers
SLOW_RATIO = 4.0  # slow: under a quarter of the site's peak (a tenth is what we must catch)
_SAMPLES = 8


@dataclass
class PaceWatch:
    """Rates of seated fetchers, from the ``left`` of their announces; one per swarm."""

    samples: dict[str, deque[tuple[float, int]]] = field(default_factory=dict)  # host -> (time, left)
    since: dict[str, float] = field(default_factory=dict)  # host -> seated (or excused) at
    peak: dict[str, float] = field(default_factory=dict)  # site -> bytes/s
    swapped: set[str] = field(default_factory=set)  # sites that lost a fetcher for slowness

    def seated(self, host: str, now: float) -> None:
        """``host`` got a seat: judge it from now on (until now it had no remote peers)."""
        self.samples[host] = deque(maxlen=_SAMPLES)
        self.since[host] = now

    def excuse(self, host: str, now: float) -> None:
        """Held back on purpose (priority): its window starts again."""
        if host in self.since:
            self.seated(host, now)

    def forget(self, host: str) -> None:
        self.samples.pop(host, None)
        self.since.pop(host, None)

    def observe(self, host: str, site: str, left: int, now: float) -> None:
        """An announce of ``host``: a sample if it is seated and settled; the site's peak follows."""
        seen = self.samples.get(host)
        if seen is None or now - self.since[host] < SETTLE_S:
            return
        seen.append((now, left))
        rate = self.rate(host)
        if rate is not None and rate > self.peak.get(site, 0.0):
            self.peak[site] = rate

    def rate(self, host: str) -> float | None:
        """Bytes/s between its newest sample and the newest one at least ``WINDOW_S`` older."""
        seen = self.samples.get(host)
        if not seen:
            return None
        t_new, left_new = seen[-1]
        for t_old, left_old in reversed(seen):
            if t_new - t_old >= WINDOW_S:
                return max(0, left_old - left_new) / (t_new - t_old)
        return None

    def slow(self, host: str, site: str, left: int) -> bool:
        """Should ``host`` give up its seat for going too slowly?"""
        rate, peak = self.rate(host), self.peak.get(site, 0.0)
        if rate is None or peak <= 0:
            return False
        if rate * SLOW_RATIO >= peak:
            self.swapped.discard(site)  # fast again: a later slowdown is the host's
            return False
        if left <= peak * WINDOW_S:
            return False  # nearly done: a newcomer would not finish sooner
        if site in self.swapped:
            self.peak[site] = rate  # its successor is slow too: the link is, not the host
            return False
        self.swapped.add(site)
        return True
