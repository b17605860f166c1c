"""A WAN fetcher that slows down loses its seat within seconds; a slow link does not churn seats."""

from __future__ import annotations

from test_fetchers import Site, site
from test_wanshare import SWARM_A, ann, make
from test_wanshare import Clock as TrackerClock

from salt_p2pdist.tracker.pace import SETTLE_S, WINDOW_S, PaceWatch

MB = 1 << 20
FILE = 256 * MB
LINK = 2.5 * MB  # bytes/s: a 20 Mbit/s branch link
ANNOUNCE_S = 3.0  # a seated fetcher's interval in a small deployment (intervals.FLOOR_S)


def run(s: Site, rates: dict[str, float], start: float, until: float,
        left: dict[str, float]) -> float | None:
    """Every host announces every ANNOUNCE_S, each downloading at its rate (only the fetcher's
    counts, site-mates wait); the time the seat first changed hands, or None."""
    before = s.fetchers.by_site.get(s.name, [])[:]
    now = start
    while now < until:
        now += ANNOUNCE_S
        for host in sorted(left):
            if host in s.fetchers.all():
                left[host] = max(0.0, left[host] - rates.get(host, LINK) * ANNOUNCE_S)
            seats = s.announce(host, int(left[host]), now)
            if seats != before and before:
                return now
    return None


def test_a_fetcher_slowed_to_a_tenth_of_its_link_is_replaced_within_ten_seconds():
    s = site()
    left = {"a": float(FILE), "b": float(FILE), "c": float(FILE)}
    assert s.announce("a", FILE, 0) == ["a"]
    assert run(s, {}, 0, 30, left) is None  # full speed for 30 s: kept, the peak learnt
    swapped = run(s, {"a": LINK / 10}, 30, 120, left)  # a's host slows to a tenth at t = 30 s
    assert swapped is not None and swapped - 30 <= 10, swapped
    assert s.fetchers.by_site["paris"] in (["b"], ["c"])
    assert s.fetchers.benched["a"] > swapped  # not chosen straight back


def test_when_the_successor_is_slow_too_the_link_is_slow_and_the_seat_stays():
    s = site()
    left = {"a": float(FILE), "b": float(FILE), "c": float(FILE)}
    s.announce("a", FILE, 0)
    run(s, {}, 0, 30, left)
    # The office's own traffic takes the link: every host gets a tenth of it.
    slow = {h: LINK / 10 for h in left}
    first = run(s, slow, 30, 120, left)
    assert first is not None
    successor = s.fetchers.by_site["paris"][:]
    assert run(s, slow, first, first + 120, left) is None  # one swap, not a swap per window
    assert s.fetchers.by_site["paris"] == successor
    # The successor's host later slows on its own: judged against the lowered peak.
    rates = {**slow, successor[0]: LINK / 100}
    assert run(s, rates, first + 120, first + 200, left) is not None


def test_a_fetcher_that_starts_slowly_is_judged_only_after_it_has_settled():
    w = PaceWatch()
    w.peak["paris"] = LINK
    w.seated("b", 100.0)
    w.observe("b", "paris", FILE, 100.0 + SETTLE_S / 2)  # too early: no sample
    assert not w.samples["b"]
    w.observe("b", "paris", FILE, 100.0 + SETTLE_S)
    w.observe("b", "paris", FILE - MB, 100.0 + SETTLE_S + WINDOW_S / 2)
    assert w.rate("b") is None and not w.slow("b", "paris", FILE)  # no full window yet
    w.observe("b", "paris", FILE - 2 * MB, 100.0 + SETTLE_S + WINDOW_S)
    assert w.rate("b") == 2 * MB / WINDOW_S
    assert w.slow("b", "paris", FILE)


def test_a_fetcher_near_its_end_is_not_swapped_out():
    w = PaceWatch()
    w.peak["paris"] = LINK
    w.seated("a", 0.0)
    w.observe("a", "paris", 6 * MB, SETTLE_S)
    w.observe("a", "paris", 5 * MB, SETTLE_S + WINDOW_S)  # slow, but a window's worth is left
    assert not w.slow("a", "paris", 5 * MB)


def test_a_held_back_fetcher_is_not_slow():
    s = site()
    left = {"a": float(FILE), "b": float(FILE)}
    s.announce("a", FILE, 0)
    run(s, {}, 0, 30, left)
    now = 30.0
    for _ in range(10):  # an urgent distribution holds this one back: no progress, on purpose
        now += ANNOUNCE_S
        s.fetchers.excuse(["a"], s.members, now)
        assert s.announce("a", int(left["a"]), now) == ["a"]
        assert s.announce("b", int(left["b"]), now) == ["a"]


def test_a_background_swarm_s_fetcher_is_not_judged_for_its_pace():
    clock = TrackerClock()
    t = make(clock)
    t.swarms[SWARM_A].priority = "background"  # it yields to the office's traffic on purpose
    left = 100 * MB
    ann(t, "n1", left)
    for _ in range(10):
        clock.now += ANNOUNCE_S
        left -= int(LINK * ANNOUNCE_S)
        ann(t, "n1", left)
        ann(t, "n2", 100 * MB)
    assert t.fetchers(SWARM_A)["nyc"] == ["n1"]
    for _ in range(6):  # it yields: a tenth of the link
        clock.now += ANNOUNCE_S
        left -= int(LINK * ANNOUNCE_S / 10)
        ann(t, "n1", left)
        ann(t, "n2", 100 * MB)
    assert t.fetchers(SWARM_A)["nyc"] == ["n1"]
    t.swarms[SWARM_A].priority = "normal"  # the same pace in a normal swarm costs the seat
    for _ in range(4):
        clock.now += ANNOUNCE_S
        left -= int(LINK * ANNOUNCE_S / 10)
        ann(t, "n1", left)
        ann(t, "n2", 100 * MB)
    assert t.fetchers(SWARM_A)["nyc"] == ["n2"]
