"""How much a background distribution may download over a shared WAN link (pure).

A background distribution is a good neighbour: it uses the branch link while
the office does not, and gives it back when the office's own traffic needs
it. The signal is the link's queueing delay. A loss-based TCP flow (a file
download, a video call's web traffic) fills the router's queue when the link
is full; a round trip then takes longer than on an idle link. As in LEDBAT
(RFC 6817), the agent keeps the smallest round trip seen lately as the idle
link's ("base"), reads the queueing delay as the latest round trip minus the
base, and keeps it under a target:

- above the target: the download limit drops below what actually came in, in
  proportion to how far above (multiplicative decrease), so the queue drains
  and the other flows' share grows;
- below the target: the limit grows by a step proportional to the room left
  (additive increase), so the link is taken again within seconds of going idle;
- never below a floor, so a distribution on a link that is always busy still
  finishes, slowly, instead of stalling.

The download's own queue is not taken for other traffic. A limit cannot hold
a TCP download just under the link's rate: in the WAN lab a limited download
came in in bursts that filled the queue for a moment, and got ~60 % of its
limit (libtorrent hands out a limited torrent's quota in chunks, which the
sender then delivers at full speed). So the download runs unlimited while it
is alone, and a queue is read as other traffic only while what comes in is
well below the most that came in lately: another flow that fills the queue
also takes a part of the link. Once limited, the limit is lifted when the
link was idle in at least half of the samples (the
download's own bursts leave it empty between them; another flow keeps a
queue), among the samples of a hold long enough for a short pause of the other
flow not to count (YIELD_HOLD_S, longer after a lift that came too early). A
queue that stays up while nothing came in less is tested by a cut every
``RECHECK_S``: a flow there before the download started never lowered its rate.

The round trips are measured by the agent (agent/yielder.py) and read as
linkreadings.py says (base, queueing delay, peak); when a limit is lifted is
liftholds.py's. This module only turns the readings into a limit, so the
control law is tested without a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from salt_p2pdist.core.liftholds import LiftHold
from salt_p2pdist.core.linkreadings import LinkReadings, SustainedRate

# Well below most WAN routers' buffers (the lab's is 40 ms): a loss-based flow keeps the
# queue around half its buffer and above this, so the background backs off to the floor;
# a background download alone at full rate queues less (5 ms measured in the lab).
TARGET_S = 0.010
# 256 kbit/s: a trickle on a 20 Mbit/s link, enough to finish a small file in minutes.
FLOOR_BPS = 32 * 1024
# A full excess (queue delay twice the target or more) cuts this fraction off what came in;
# smaller excesses cut less, and each further sample in a row above the target cuts more
# (up to MAX_CUT). Alone on the link, one or two cuts drain the queue and the link stays
# busy; beside a loss-based flow, whose queue stays up, the cuts grow and the limit
# reaches the floor within a few seconds.
DECREASE = 0.2
MAX_CUT = 0.5
# Additive increase per sample with the queue empty: GROWTH_MIN_BPS within CALM_S of the
# last cut (a loss-based flow's queue drains for a moment after its losses: the link is not
# idle yet), then a fraction of the current limit: an idle link is taken back in seconds.
GROWTH = 0.08
GROWTH_MIN_BPS = 64 * 1024
CALM_S = 5.0
# The limit grows no further than this much above what comes in: a limit that nothing
# reaches (the sender or the other end is slower) would otherwise grow without bound.
HEADROOM = 2.0
# Unlimited, a queue is another flow's while what comes in is below this part of the peak,
# the most that came in lately for a few seconds in a row (linkreadings.py; a TCP flow beside
# the download takes about half the link), learnt from PEAK_AFTER_S after the limit went: the
# first second reads what piled up in buffers meanwhile, above the link's rate.
CONTENDED = 0.75
PEAK_AFTER_S = 2.0
# Limited, the limit is lifted when at least half of the samples of a hold (liftholds.py)
# found the link idle: a round trip within IDLE_S of the base. Not the target: a TCP
# download alone on the lab's link (a fast one, its window small) queued only 4-8 ms,
# under the target.
IDLE_S = TARGET_S / 4
# Unlimited for less than this, a queue is not judged: a download that starts (or is let
# go) ramps up while its own queue builds, below the rate it reaches.
RAMP_S = 3.0
RECHECK_S = 60.0


@dataclass
class DelayController:
    """The download limit (bytes/s) for a host's background downloads over the WAN."""

    target_s: float = TARGET_S
    floor_bps: int = FLOOR_BPS
    limit_bps: float | None = None  # None: not limited (the link has not been seen queueing yet)
    _above: int = 0  # samples in a row above the target (halved by each one below)
    _last_cut: float = float("-inf")
    _link: LinkReadings = field(default_factory=LinkReadings)
    _hold: LiftHold = field(default_factory=LiftHold)
    _free_since: float | None = None  # unlimited since (None: not started)
    _sustained: SustainedRate = field(default_factory=SustainedRate)

    def peak_bps(self) -> float:
        return self._link.peak_bps()

    def base_s(self) -> float | None:
        return self._link.base_s()

    def queue_delay_s(self) -> float | None:
        return self._link.queue_delay_s()

    def _remember(self, now: float, rtt_s: float, rate_bps: float) -> None:
        free = self.limit_bps is None and self._free_since is not None
        learning = free and now - (self._free_since or 0.0) >= PEAK_AFTER_S
        learnt = self._sustained.add(now, rate_bps) if learning else self._sustained.clear()
        self._link.remember(now, rtt_s, learnt)

    def step(self, now: float, rtt_s: float | None, rate_bps: float) -> float | None:
        """Feed one round trip (None: no answer) and the rate that came in; the new limit.

        ``now`` is a monotonic clock in seconds. Returns None while unlimited.
        """
        if self._free_since is None:
            self._free_since = now
        if rtt_s is None:  # no measurement: keep what is in force
            return self.limit_bps
        self._remember(now, rtt_s, rate_bps)
        delay = self.queue_delay_s()
        if delay is None:
            return self.limit_bps
        self._hold.sample(now, rtt_s - (self.base_s() or 0.0) < IDLE_S)
        off_target = (self.target_s - delay) / self.target_s  # 1 idle .. negative above target
        if self.limit_bps is None:
            free_for = now - self._free_since
            recheck = free_for >= RECHECK_S
            others = free_for >= RAMP_S and rate_bps < CONTENDED * self.peak_bps()
            if off_target < 0 and (others or recheck):
                self._hold.start(now, recheck and not others)
                self._cut(now, rate_bps, off_target)
            else:
                self._hold.still_free(now)
            return self.limit_bps
        if off_target < 0:
            self._cut(now, min(self.limit_bps, max(rate_bps, self.floor_bps)), off_target)
        elif self._hold.link_idle(now):
            self.limit_bps, self._above, self._free_since = None, 0, now  # alone again: unlimited
            self._hold.lifted(now)
        else:
            self._above //= 2  # a dip between samples above the target does not start the cuts over
            calm = now - self._last_cut >= CALM_S
            step = max(GROWTH_MIN_BPS, GROWTH * self.limit_bps) if calm else GROWTH_MIN_BPS
            grown = self.limit_bps + off_target * step
            ceiling = HEADROOM * rate_bps + GROWTH_MIN_BPS
            self.limit_bps = max(self.limit_bps, min(grown, ceiling))
        return self.limit_bps

    def _cut(self, now: float, basis: float, off_target: float) -> None:
        """Below ``basis`` (what came in: what the link gave us), so that the queue drains."""
        self._above += 1
        cut = 1.0 - min(MAX_CUT, DECREASE * min(1.0, -off_target) * self._above)
        self.limit_bps = max(float(self.floor_bps), basis * cut)
        self._last_cut = now

    def reset(self) -> None:
        """No background download over the WAN any more: the next one starts unlimited, and learns
        the link's peak itself (what an earlier one read may include bursts from the LAN)."""
        self.limit_bps, self._above, self._free_since = None, 0, None
        self._link.forget_download()
        self._hold.reset()


def share(limit_bps: float | None, downloads: int) -> int:
    """Each of ``downloads`` background downloads' part of the host's limit, in libtorrent's
    terms (-1 for none); never below one byte per second, which libtorrent would read as none."""
    if limit_bps is None or downloads <= 0:
        return -1
    return max(1, int(limit_bps / downloads))
