"""How long a host may wait before its next announce: short while it downloads, within a budget.

A seed announces every ``announce_interval`` (30 s by default): it only keeps
its place in the swarm. A host that still downloads is told to come back
soon, because the tracker learns only from announces: that a WAN fetcher
died (it misses its announces and loses its seat, see fetchers.py), and who
takes its seat (the next site-mate that announces, in that very answer).

Those short intervals cost the master announces, so they are bounded by a
budget of announces per second (``announce_budget``), split in halves:

- the seated WAN fetchers that download (a few per site and swarm) share one
  half: ``max(FLOOR_S, fetchers / (budget / 2))``;
- every other downloading host shares the other:
  ``max(FLOOR_S, others / (budget / 2))``;
- neither longer than ``announce_interval``.

So the downloading hosts cost at most ``budget`` announces per second more
than ``announce_interval`` alone would (total <= hosts / interval + budget).
At 10,000 minions in 100 sites and the default budget of 50/s, the 100
fetchers come back every 4 s and the others every 30 s: a dead fetcher is
seen within 8 s, and one of its 99 site-mates announces about every 0.3 s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

FLOOR_S = 3  # the shortest interval given; agents must allow it (min_announce_interval)
SILENT_AFTER = 1.5  # a host silent for this many of its intervals has missed an announce
LATE_S = 2.0  # and this much more: a busy host's announce can be late, and losing a live
# fetcher's seat costs a second WAN copy of what it already fetched


def silent(last_seen: float, interval: float, now: float) -> bool:
    """Has a host that was told to come back after ``interval`` missed its announce?"""
    return interval > 0 and now - last_seen > SILENT_AFTER * interval + LATE_S


@dataclass
class IntervalRule:
    seed_interval: int = 30  # announce_interval
    budget: float = 50.0  # announces/s the short intervals may add
    fetchers: int = 0  # downloading hosts in a WAN seat, over all swarms
    others: int = 0  # the other downloading hosts
    _counted_at: float = -1.0

    def recount(self, now: float, downloading: Iterable[bool]) -> None:
        """Count the downloading hosts (``True``: in a WAN seat); at most once a second."""
        if now - self._counted_at < 1.0:
            return
        self._counted_at = now
        seats = list(downloading)
        self.fetchers = sum(seats)
        self.others = len(seats) - self.fetchers

    def interval(self, *, left: int, seated: bool) -> int:
        """The interval to give a host with ``left`` bytes missing (``seated``: a WAN fetcher)."""
        if left == 0:
            return self.seed_interval
        share = max(self.budget / 2, 0.1)
        hosts = self.fetchers if seated else self.others
        return max(1, min(self.seed_interval, max(FLOOR_S, math.ceil(hosts / share))))

    @staticmethod
    def min_interval(interval: int) -> int:
        """How soon a host may announce again of its own accord (libtorrent's force_reannounce)."""
        return max(1, interval // 3)
