"""The delay controller that makes background downloads yield the WAN link (pure)."""

from __future__ import annotations

from salt_p2pdist.core.yielding import FLOOR_BPS, SAMPLE_S, TARGET_S, DelayController, share

LINK = 2_500_000.0  # bytes/s: a 20 Mbit/s branch link
BASE = 0.002  # the idle link's round trip


def feed(c: DelayController, t0: float, rtts: list[float], rate: float) -> float:
    """Feed round trips one sample apart from ``t0``; the time after the last one."""
    t = t0
    for rtt in rtts:
        c.step(t, rtt, rate)
        t += SAMPLE_S
    return t


def test_an_idle_link_leaves_the_download_unlimited() -> None:
    c = DelayController()
    feed(c, 0.0, [BASE] * 20, LINK)
    assert c.limit_bps is None
    assert share(c.limit_bps, 1) == -1


def test_a_queue_above_the_target_limits_the_download_below_what_came_in() -> None:
    c = DelayController()
    t = feed(c, 0.0, [BASE] * 5, LINK)
    feed(c, t, [BASE + 2 * TARGET_S] * 3, LINK)
    assert c.limit_bps is not None and c.limit_bps < LINK


def test_a_queue_that_stays_up_drives_the_limit_to_the_floor_and_no_lower() -> None:
    c = DelayController()
    t = feed(c, 0.0, [BASE] * 5, LINK)
    feed(c, t, [BASE + 0.040] * 200, LINK)  # another flow keeps the queue full
    assert c.limit_bps == FLOOR_BPS
    assert share(c.limit_bps, 2) == FLOOR_BPS // 2


def test_one_late_answer_is_not_taken_for_a_queue() -> None:
    c = DelayController()
    t = feed(c, 0.0, [BASE] * 5, LINK)
    feed(c, t, [BASE + 0.5, BASE, BASE], LINK)
    assert c.limit_bps is None


def test_an_idle_link_is_taken_back_after_yielding() -> None:
    c = DelayController()
    t = feed(c, 0.0, [BASE] * 5, LINK)
    t = feed(c, t, [BASE + 0.040] * 100, LINK)
    low = c.limit_bps
    assert low is not None
    for _ in range(100):  # the other flow ended: the queue is empty, the download takes what it gets
        c.step(t, BASE, c.limit_bps or 0.0)
        t += SAMPLE_S
    assert c.limit_bps is not None and c.limit_bps > 10 * low


def test_the_limit_does_not_grow_far_beyond_what_comes_in() -> None:
    c = DelayController()
    t = feed(c, 0.0, [BASE] * 5, LINK)
    t = feed(c, t, [BASE + 0.040] * 100, LINK)  # yielded down to the floor
    feed(c, t, [BASE] * 500, 100_000.0)  # then the link is idle, but the sender is slow
    assert c.limit_bps is not None and c.limit_bps < 1_000_000


def test_no_answer_keeps_the_limit_in_force() -> None:
    c = DelayController()
    t = feed(c, 0.0, [BASE] * 5, LINK)
    t = feed(c, t, [BASE + 0.040] * 5, LINK)
    limit = c.limit_bps
    c.step(t, None, LINK)
    assert c.limit_bps == limit


def test_reset_forgets_the_limit() -> None:
    c = DelayController()
    t = feed(c, 0.0, [BASE] * 5, LINK)
    feed(c, t, [BASE + 0.040] * 5, LINK)
    c.reset()
    assert c.limit_bps is None


def test_a_queue_a_little_above_the_target_that_stays_up_still_reaches_the_floor_soon() -> None:
    """A loss-based flow's queue after its losses sits only a little above the target:
    the cuts grow while it stays there (5 s of samples)."""
    c = DelayController()
    t = feed(c, 0.0, [BASE] * 5, LINK)
    feed(c, t, [BASE + 1.4 * TARGET_S] * int(5 / SAMPLE_S), LINK)
    assert c.limit_bps == FLOOR_BPS


def test_one_cut_alone_drains_a_queue_without_giving_up_the_link() -> None:
    """Alone on the link, the download's own queue: cut a little, and taken again soon."""
    c = DelayController()
    t = feed(c, 0.0, [BASE] * 5, LINK)
    t = feed(c, t, [BASE + 2 * TARGET_S] * 2, LINK)  # the filter needs 2 samples to see it
    first = c.limit_bps
    assert first is not None and first >= 0.75 * LINK
    feed(c, t, [BASE] * int(5 / SAMPLE_S), first)  # the queue drained: 5 s later
    assert c.limit_bps is not None and c.limit_bps > first


def test_short_dips_of_a_busy_queue_do_not_give_the_link_back() -> None:
    """A loss-based flow's queue drains for a moment after each loss: not an idle link."""
    c = DelayController()
    t = feed(c, 0.0, [BASE] * 5, LINK)
    feed(c, t, [BASE + 0.035, BASE + 0.035, BASE + 0.035, BASE] * 25, LINK)
    assert c.limit_bps is not None and c.limit_bps <= 2 * FLOOR_BPS
