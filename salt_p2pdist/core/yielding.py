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

The round trips are measured by the agent (agent/yielder.py); this module only
turns them into a limit, so the control law is tested without a network.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

# Well below most WAN routers' buffers (the lab's is 40 ms): a loss-based flow keeps the
# queue around half its buffer and above this, so the background backs off to the floor;
# a background download alone at full rate queues less (5 ms measured in the lab).
TARGET_S = 0.010
# 256 kbit/s: a trickle on a 20 Mbit/s link, enough to finish a small file in minutes.
FLOOR_BPS = 32 * 1024
# One round trip every SAMPLE_S; the queueing delay read is the median of the last
# CURRENT_SAMPLES: one delayed answer (a busy server, a busy CPU) is not taken for a queue.
SAMPLE_S = 0.2
CURRENT_SAMPLES = 3
# The base is the minimum of the last BASE_BUCKETS minima of BASE_BUCKET_S each (LEDBAT's
# base history): a route that changed forgets its old base within ten minutes.
BASE_BUCKET_S = 60.0
BASE_BUCKETS = 10
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
# the most per second in the last PEAK_BUCKETS buckets of BASE_BUCKET_S (a TCP flow beside
# the download takes about half the link), learnt from PEAK_AFTER_S after the limit went:
# the first second reads what piled up in buffers meanwhile, above the link's rate.
CONTENDED = 0.75
PEAK_BUCKETS = 3
PEAK_AFTER_S = 2.0
# Limited, the limit is lifted when at least half of the samples of the hold found the link
# idle: a round trip within IDLE_S of the base. Not the target: a TCP download alone on the
# lab's link (a fast one, its window small) queued only 4-8 ms, under the target. Such a
# flow is also hard to tell from an idle link once the download yields (its queue is 1-5
# ms), so the hold after another flow was found is long (YIELD_HOLD_S: an office's flow is
# rarely shorter), and a lift cut again within RELAPSE_S (the flow was still there) makes
# the next one HOLD_GROWTH times longer, up to HOLD_MAX_S; a lift that holds for RELAPSE_S
# sets it back. With 3 s holds, each lift beside a business flow in the lab took it ~1.5 s of
# the link every ~5 s, and it kept 0.59 of its idle-link rate. The recheck's test cut holds
# only LIFT_S: the download is most likely alone.
LIFT_S = 3.0
LIFT_SAMPLES = int(LIFT_S / SAMPLE_S)
YIELD_HOLD_S = 24.0
HOLD_GROWTH = 2.0
HOLD_MAX_S = 48.0
RELAPSE_S = 10.0
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
    _current: deque[float] = field(default_factory=lambda: deque(maxlen=CURRENT_SAMPLES))
    _base: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=BASE_BUCKETS))
    _peak: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=PEAK_BUCKETS))
    # (when, found the link idle) for the samples of the longest hold
    _idle: deque[tuple[float, bool]] = field(
        default_factory=lambda: deque(maxlen=int(HOLD_MAX_S / SAMPLE_S) + 2))
    _free_since: float | None = None  # unlimited since (None: not started)
    _hold_s: float = LIFT_S  # how long this limit holds before the link may be found idle
    _next_hold_s: float = YIELD_HOLD_S  # the hold after the next flow found
    _lifted_at: float | None = None  # the last lift (None: none, or it held)

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

    def _remember(self, now: float, rtt_s: float, rate_bps: float) -> None:
        bucket = int(now // BASE_BUCKET_S)
        free = self.limit_bps is None and self._free_since is not None
        learnt = rate_bps if free and now - (self._free_since or 0.0) >= PEAK_AFTER_S else 0.0
        for history, value, keep in ((self._base, rtt_s, min), (self._peak, learnt, max)):
            if history and history[-1][0] == bucket:
                history[-1] = (bucket, keep(history[-1][1], value))
            else:
                history.append((bucket, value))
        self._current.append(rtt_s)

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
        self._idle.append((now, rtt_s - (self.base_s() or 0.0) < IDLE_S))
        off_target = (self.target_s - delay) / self.target_s  # 1 idle .. negative above target
        if self.limit_bps is None:
            free_for = now - self._free_since
            recheck = free_for >= RECHECK_S
            others = free_for >= RAMP_S and rate_bps < CONTENDED * self.peak_bps()
            if off_target < 0 and (others or recheck):
                self._limit(now, recheck and not others)
                self._cut(now, rate_bps, off_target)
            elif self._lifted_at is not None and now - self._lifted_at >= RELAPSE_S:
                self._next_hold_s, self._lifted_at = YIELD_HOLD_S, None  # the lift held: the link was ours
            return self.limit_bps
        if off_target < 0:
            self._cut(now, min(self.limit_bps, max(rate_bps, self.floor_bps)), off_target)
        elif self._link_idle(now):
            self.limit_bps, self._above, self._free_since = None, 0, now  # alone again: unlimited
            self._lifted_at = now
        else:
            self._above //= 2  # a dip between samples above the target does not start the cuts over
            calm = now - self._last_cut >= CALM_S
            step = max(GROWTH_MIN_BPS, GROWTH * self.limit_bps) if calm else GROWTH_MIN_BPS
            grown = self.limit_bps + off_target * step
            ceiling = HEADROOM * rate_bps + GROWTH_MIN_BPS
            self.limit_bps = max(self.limit_bps, min(grown, ceiling))
        return self.limit_bps

    def _limit(self, now: float, test: bool) -> None:
        """From unlimited to limited: a hold starts, longer if the last lift was too early."""
        if self._lifted_at is not None and now - self._lifted_at < RELAPSE_S:
            self._next_hold_s = min(HOLD_MAX_S, HOLD_GROWTH * self._next_hold_s)
        self._hold_s = LIFT_S if test else self._next_hold_s
        self._lifted_at = None
        self._idle.clear()
        self._idle.append((now, False))  # the hold starts with this sample

    def _link_idle(self, now: float) -> bool:
        """The hold is over and at least half of its samples found the link idle."""
        if not self._idle or now - self._idle[0][0] < self._hold_s - SAMPLE_S / 2:
            return False
        recent = [idle for when, idle in self._idle if now - when < self._hold_s]
        return 2 * sum(recent) >= len(recent)

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
        self._peak.clear()
        self._hold_s, self._next_hold_s, self._lifted_at = LIFT_S, YIELD_HOLD_S, None
        self._current.clear()
        self._idle.clear()


def share(limit_bps: float | None, downloads: int) -> int:
    """Each of ``downloads`` background downloads' part of the host's limit, in libtorrent's
    terms (-1 for none); never below one byte per second, which libtorrent would read as none."""
    if limit_bps is None or downloads <= 0:
        return -1
    return max(1, int(limit_bps / downloads))
