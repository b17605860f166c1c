"""When a background download's limit is lifted: the hold, and the samples that found the link idle (pure).

Apart from the control law (yielding.py), which moves the limit while it is in
force: this only decides when the link looks the download's own again. A
download that yields leaves a flow beside it little queue, so an idle link is
hard to tell from a shared one; the hold and its growth after a lift that came
too early are what keep the download from taking the link back too soon.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from salt_p2pdist.core.linkreadings import SAMPLE_S

# Limited, the limit is lifted when at least half of the samples of the hold found the link
# idle (yielding.IDLE_S). A flow beside the download is hard to tell from an idle link once
# the download yields (its queue is 1-5 ms), so the hold after another flow was found is long
# (YIELD_HOLD_S: an office's flow is rarely shorter), and a lift cut again within RELAPSE_S
# (the flow was still there) makes the next one HOLD_GROWTH times longer, up to HOLD_MAX_S; a
# lift that holds for RELAPSE_S sets it back. With 3 s holds, each lift beside a business flow
# in the lab took it ~1.5 s of the link every ~5 s, and it kept 0.59 of its idle-link rate.
# The recheck's test cut holds only LIFT_S: the download is most likely alone.
LIFT_S = 3.0
LIFT_SAMPLES = int(LIFT_S / SAMPLE_S)
YIELD_HOLD_S = 24.0
HOLD_GROWTH = 2.0
HOLD_MAX_S = 48.0
RELAPSE_S = 10.0


@dataclass
class LiftHold:
    """How long the limit in force holds, and whether its samples found the link idle enough to lift it."""

    # (when, found the link idle) for the samples of the longest hold
    _idle: deque[tuple[float, bool]] = field(
        default_factory=lambda: deque(maxlen=int(HOLD_MAX_S / SAMPLE_S) + 2))
    _hold_s: float = LIFT_S  # how long this limit holds before the link may be found idle
    _next_hold_s: float = YIELD_HOLD_S  # the hold after the next flow found
    _lifted_at: float | None = None  # the last lift (None: none, or it held)

    def sample(self, now: float, idle: bool) -> None:
        self._idle.append((now, idle))

    def start(self, now: float, test: bool) -> None:
        """From unlimited to limited: a hold starts, longer if the last lift was too early."""
        if self._lifted_at is not None and now - self._lifted_at < RELAPSE_S:
            self._next_hold_s = min(HOLD_MAX_S, HOLD_GROWTH * self._next_hold_s)
        self._hold_s = LIFT_S if test else self._next_hold_s
        self._lifted_at = None
        self._idle.clear()
        self._idle.append((now, False))  # the hold starts with this sample

    def link_idle(self, now: float) -> bool:
        """The hold is over and at least half of its samples found the link idle."""
        if not self._idle or now - self._idle[0][0] < self._hold_s - SAMPLE_S / 2:
            return False
        recent = [idle for when, idle in self._idle if now - when < self._hold_s]
        return 2 * sum(recent) >= len(recent)

    def lifted(self, now: float) -> None:
        self._lifted_at = now

    def still_free(self, now: float) -> None:
        """Unlimited and not cut again: a lift that held for RELAPSE_S sets the next hold back."""
        if self._lifted_at is not None and now - self._lifted_at >= RELAPSE_S:
            self._next_hold_s, self._lifted_at = YIELD_HOLD_S, None  # the lift held: the link was ours

    def reset(self) -> None:
        self._hold_s, self._next_hold_s, self._lifted_at = LIFT_S, YIELD_HOLD_S, None
        self._idle.clear()
