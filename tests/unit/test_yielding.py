"""The delay controller that makes background downloads yield the WAN link (pure)."""

from __future__ import annotations

from salt_p2pdist.core.liftholds import HOLD_GROWTH, LIFT_SAMPLES, RELAPSE_S, YIELD_HOLD_S
from salt_p2pdist.core.linkreadings import SAMPLE_S
from salt_p2pdist.core.yielding import (
    CONTENDED,
    FLOOR_BPS,
    RAMP_S,
    RECHECK_S,
    TARGET_S,
    DelayController,
    share,
)

LINK = 2_500_000.0  # bytes/s: a 20 Mbit/s branch link
HALF = LINK / 2  # what the download gets beside another TCP flow
BASE = 0.002  # the idle link's round trip
FULL = BASE + 0.040  # a loss-based flow keeps the router's queue up


def feed(c: DelayController, t0: float, rtts: list[float], rate: float) -> float:
    """Feed round trips one sample apart from ``t0``; the time after the last one."""
    t = t0
    for rtt in rtts:
        c.step(t, rtt, rate)
        t += SAMPLE_S
    return t


def alone(c: DelayController) -> float:
    """The download alone on the link: idle, then its own queue, at the link's rate (long enough
    for the peak, what came in for a few seconds in a row, to be learnt)."""
    t = feed(c, 0.0, [BASE] * 5, LINK)
    return feed(c, t, [FULL] * 40, LINK)


def test_an_idle_link_leaves_the_download_unlimited() -> None:
    c = DelayController()
    feed(c, 0.0, [BASE] * 20, LINK)
    assert c.limit_bps is None
    assert share(c.limit_bps, 1) == -1


def test_the_download_s_own_queue_leaves_it_unlimited() -> None:
    c = DelayController()
    alone(c)
    assert c.limit_bps is None


def test_another_flow_in_the_queue_limits_the_download_below_what_came_in() -> None:
    c = DelayController()
    t = alone(c)
    feed(c, t, [FULL] * 2, HALF)  # another flow: the queue stays up, and it takes half
    assert c.limit_bps is not None and c.limit_bps < HALF


def test_a_queue_that_stays_up_drives_the_limit_to_the_floor_and_no_lower() -> None:
    c = DelayController()
    t = alone(c)
    feed(c, t, [FULL] * 200, HALF)
    assert c.limit_bps == FLOOR_BPS
    assert share(c.limit_bps, 2) == FLOOR_BPS // 2


def test_a_queue_a_little_above_the_target_that_stays_up_still_reaches_the_floor_soon() -> None:
    """A loss-based flow's queue after its losses sits only a little above the target:
    the cuts grow while it stays there (5 s of samples)."""
    c = DelayController()
    t = alone(c)
    feed(c, t, [BASE + 1.4 * TARGET_S] * int(5 / SAMPLE_S), HALF)
    assert c.limit_bps == FLOOR_BPS


def test_one_late_answer_is_not_taken_for_a_queue() -> None:
    c = DelayController()
    t = feed(c, 0.0, [BASE] * 5, LINK)
    feed(c, t, [BASE + 0.5, BASE, BASE], CONTENDED * LINK / 2)
    assert c.limit_bps is None


def test_an_idle_link_is_taken_back_after_the_hold() -> None:
    c = DelayController()
    t = alone(c)
    t = feed(c, t, [FULL] * 100, HALF)
    assert c.limit_bps == FLOOR_BPS
    feed(c, t, [BASE] * int(YIELD_HOLD_S / SAMPLE_S / 2 + 2), FLOOR_BPS)  # the other flow ended
    assert c.limit_bps is None


def test_the_download_s_own_bursts_under_a_limit_do_not_hold_it_down() -> None:
    """Limited, the download's bytes come in bursts that fill the queue for a moment; between
    them the queue is empty: the limit is lifted."""
    c = DelayController()
    t = alone(c)
    t = feed(c, t, [FULL] * 10, HALF)
    assert c.limit_bps is not None
    lifted = False
    for rtt in [FULL, FULL, BASE, BASE, BASE] * int(YIELD_HOLD_S + 2):
        t = feed(c, t, [rtt], 0.6 * LINK)
        lifted = lifted or c.limit_bps is None
    assert lifted


def test_a_flow_that_queues_less_than_the_target_keeps_the_download_limited() -> None:
    """Yielded, the download hardly queues; the other flow alone queues a few ms (a fast TCP
    download with a small window): under the target, but not an idle link."""
    c = DelayController()
    t = alone(c)
    t = feed(c, t, [FULL] * 20, HALF)
    feed(c, t, [BASE + 0.005] * 100, FLOOR_BPS)
    assert c.limit_bps is not None and c.limit_bps < HALF


def test_what_piled_up_while_limited_is_not_taken_for_the_link_s_rate() -> None:
    """Lifted, the download first reads what piled up meanwhile, above the link's rate; then,
    alone at the link's rate with its own queue, it stays unlimited."""
    c = DelayController()
    t = alone(c)
    t = feed(c, t, [FULL] * 20, HALF)
    while c.limit_bps is not None:
        t = feed(c, t, [BASE], FLOOR_BPS)
    t = feed(c, t, [FULL] * 5, 2.5 * LINK)
    feed(c, t, [FULL] * 50, LINK)
    assert c.limit_bps is None


def test_short_dips_of_a_busy_queue_do_not_give_the_link_back() -> None:
    """A loss-based flow's queue drains for a moment after a loss: not an idle link."""
    c = DelayController()
    t = alone(c)
    feed(c, t, [FULL, FULL, FULL, BASE] * 25, HALF)
    assert c.limit_bps is not None and c.limit_bps <= 2 * FLOOR_BPS


def test_a_flow_there_before_the_download_is_found_by_a_cut_within_the_recheck() -> None:
    """The download started beside another flow, so it never saw the link's rate: its rate
    never drops, yet a cut every RECHECK_S finds the queue still up, and it yields."""
    c = DelayController()
    t = feed(c, 0.0, [BASE] * 5, 0.0)  # the base: a moment the link was idle, as the download started
    t = feed(c, t, [FULL] * int(RECHECK_S / SAMPLE_S - 6), HALF)
    assert c.limit_bps is None
    feed(c, t, [FULL] * 30, HALF)
    assert c.limit_bps == FLOOR_BPS


def test_the_recheck_of_a_download_alone_gives_the_link_back_soon() -> None:
    c = DelayController()
    t = feed(c, 0.0, [BASE] * 5, 0.0)
    t = feed(c, t, [FULL] * int(RECHECK_S / SAMPLE_S - 4), LINK)
    assert c.limit_bps is not None  # the test cut
    feed(c, t, [BASE] * LIFT_SAMPLES, 0.8 * LINK)  # its own queue drained
    assert c.limit_bps is None


def limited_beside_a_quiet_flow(c: DelayController, t: float) -> float:
    """Yielded beside a flow that hardly queues (as a business download did in the lab) until
    the limit is lifted; the time it was lifted."""
    while c.limit_bps is not None:
        t = feed(c, t, [BASE + 0.001], FLOOR_BPS)
    return t


def test_a_lift_cut_again_soon_makes_the_next_hold_longer() -> None:
    """The other flow was still there: the next lift waits HOLD_GROWTH times as long, so a flow
    that hardly queues is not hit by the download every few seconds."""
    c = DelayController()
    start = alone(c)
    t = limited_beside_a_quiet_flow(c, feed(c, start, [FULL] * 5, HALF))
    assert t - start <= YIELD_HOLD_S + 6 * SAMPLE_S
    start = t  # it took the link and the queue came back, the rate halved
    t = limited_beside_a_quiet_flow(c, feed(c, start, [FULL] * int(RAMP_S / SAMPLE_S + 5), HALF))
    assert t - start >= HOLD_GROWTH * YIELD_HOLD_S


def test_a_lift_that_holds_sets_the_hold_back() -> None:
    c = DelayController()
    t = feed(c, alone(c), [FULL] * 5, HALF)
    t = limited_beside_a_quiet_flow(c, t)
    t = feed(c, t, [FULL] * int(RAMP_S / SAMPLE_S + 5), HALF)  # too early: the next hold is longer
    t = limited_beside_a_quiet_flow(c, t)
    t = feed(c, t, [FULL] * int(RELAPSE_S / SAMPLE_S + 2), LINK)  # alone this time, at the link's rate
    assert c.limit_bps is None
    start = t  # another flow comes much later
    t = limited_beside_a_quiet_flow(c, feed(c, start, [FULL] * 5, HALF))
    assert t - start <= YIELD_HOLD_S + 6 * SAMPLE_S


def test_the_next_download_learns_the_link_s_peak_itself() -> None:
    """An earlier download's peak (it may have counted a burst from the LAN) is not the next
    one's: alone on the link at its rate, with its own queue, the next stays unlimited."""
    c = DelayController()
    feed(c, 0.0, [BASE] * 5 + [FULL] * 30, 2 * LINK)  # a peak the link cannot give
    c.reset()
    feed(c, 100.0, [BASE] * 5 + [FULL] * 50, LINK)
    assert c.limit_bps is None


def test_a_burst_after_a_stall_is_not_taken_for_the_link_s_rate() -> None:
    """The agent (or its host) stalled for a moment; the kernel's buffers then handed over in
    one second what the link had delivered in more (the rate is read over the last second, so
    the stall itself reads only a little low). Alone on the link at its rate, with its own
    queue, the download stays unlimited (seen in the WAN lab: it yielded to itself)."""
    c = DelayController()
    t = alone(c)
    for _ in range(3):
        t = feed(c, t, [FULL] * 5, 0.8 * LINK)  # the stall, within the last second's rate
        t = feed(c, t, [FULL] * 5, 1.5 * LINK)  # what piled up meanwhile
        t = feed(c, t, [FULL] * 50, LINK)
    assert c.limit_bps is None
    assert c.peak_bps() == LINK


def test_a_flow_that_starts_seconds_into_the_download_is_found_at_once() -> None:
    """The peak is learnt while the download is still young: the office's flow may start 4 s
    in (the lab's business flow starts once a fifth of the payload is in)."""
    c = DelayController()
    t = feed(c, 0.0, [BASE] * 5, 0.6 * LINK)  # ramping up
    t = feed(c, t, [FULL] * 15, LINK)  # 3 s at the link's rate, its own queue
    feed(c, t, [FULL] * 2, HALF)
    assert c.limit_bps is not None and c.limit_bps < HALF


def test_another_flow_is_still_found_after_a_burst() -> None:
    c = DelayController()
    t = alone(c)
    t = feed(c, t, [FULL] * 5, 1.5 * LINK)
    feed(c, t, [FULL] * 2, HALF)
    assert c.limit_bps is not None and c.limit_bps < HALF


def test_no_answer_keeps_the_limit_in_force() -> None:
    c = DelayController()
    t = alone(c)
    t = feed(c, t, [FULL] * 5, HALF)
    limit = c.limit_bps
    assert limit is not None
    c.step(t, None, HALF)
    assert c.limit_bps == limit


def test_reset_forgets_the_limit() -> None:
    c = DelayController()
    t = alone(c)
    feed(c, t, [FULL] * 5, HALF)
    c.reset()
    assert c.limit_bps is None
