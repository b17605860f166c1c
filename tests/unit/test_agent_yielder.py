"""Background downloads over the WAN yield to other traffic: the agent's yielder on a real
libtorrent session. The link's round trips are played in (the loopback has no queue)."""

from __future__ import annotations

from pathlib import Path

from loopback_engine import fetching as _fetching

from salt_p2pdist.agent.downlimit import DownloadLimits
from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.agent.holding import Holds
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.agent.yielder import Yielder, wan_bytes
from salt_p2pdist.core import priority
from salt_p2pdist.core.liftholds import YIELD_HOLD_S
from salt_p2pdist.core.linkreadings import SAMPLE_S
from salt_p2pdist.core.yielding import FLOOR_BPS, RAMP_S

BASE = 0.002


class Link:
    """Round trips as the yielder would measure them, and the clock they are read at."""

    def __init__(self) -> None:
        self.rtt: float | None = BASE
        self.now = 0.0
        self.probed: list[tuple[str, int]] = []

    def probe(self, host: str, port: int) -> float | None:
        self.probed.append((host, port))
        return self.rtt

    def clock(self) -> float:
        self.now += SAMPLE_S
        return self.now


def _from_the_wan(engine: Engine, dist_id: str, more: int) -> None:
    """Bytes from the origin, as the peer sampler counts them."""
    transfer = engine.book.get(dist_id)
    assert transfer is not None and transfer.ledger is not None
    transfer.ledger.totals["from_origin"] += more


def _another_flow(engine: Engine, dist_id: str, link: Link, yielder: Yielder) -> None:
    """The download alone on an idle link, then another flow fills the queue and takes the link."""
    for rtt, more in [(BASE, 100_000)] * 30 + [(BASE + 0.040, 1_000)] * 20:
        link.rtt = rtt
        _from_the_wan(engine, dist_id, more)
        yielder.step()


def _limit(engine: Engine, dist_id: str) -> int:
    transfer = engine.book.get(dist_id)
    assert transfer is not None
    return int(transfer.handle.download_limit())


def test_a_rising_delay_limits_only_the_background_download_over_the_wan_and_idle_lifts_it(
        engine: Engine, tmp_path: Path) -> None:
    background = _fetching(engine, tmp_path, "image.bin", "background")
    normal = _fetching(engine, tmp_path, "patch.bin", "normal")
    assert engine.book.get(background).record.level() == "background"  # type: ignore[union-attr]
    link = Link()
    yielder = Yielder(engine.book, probe=link.probe, clock=link.clock, received=wan_bytes)
    for _ in range(30):  # an idle link (the peak: what came in for 3 s in a row): the base round trip
        _from_the_wan(engine, background, 100_000)
        _from_the_wan(engine, normal, 100_000)
        assert yielder.step()
    assert _limit(engine, background) <= 0, "limited on an idle link"
    assert link.probed[0] == ("127.0.0.1", 9), "the tracker's host is what is timed"

    link.rtt = BASE + 0.040  # another flow fills the link's queue
    for _ in range(60):
        _from_the_wan(engine, background, 1_000)
        yielder.step()
    assert 0 < _limit(engine, background) <= FLOOR_BPS
    assert _limit(engine, normal) <= 0, "a normal distribution was limited"

    link.rtt = BASE  # the other flow ended
    for _ in range(int(YIELD_HOLD_S / SAMPLE_S) + 5):
        _from_the_wan(engine, background, 1_000)
        yielder.step()
    assert _limit(engine, background) <= 0, "not unlimited again on an idle link"


def test_a_background_download_from_its_own_site_is_not_limited(engine: Engine, tmp_path: Path) -> None:
    background = _fetching(engine, tmp_path, "image.bin", "background")
    link = Link()
    link.rtt = BASE + 0.040  # the WAN is busy, but this host's bytes come over the LAN
    yielder = Yielder(engine.book, probe=link.probe, clock=link.clock, received=wan_bytes)
    for _ in range(30):
        assert not yielder.step()
    assert _limit(engine, background) <= 0
    assert link.probed == [], "a host not on the WAN timed the tracker"


def _all_bytes(transfer: Transfer) -> int:
    """What the download received from every peer, the LAN's too."""
    assert transfer.ledger is not None
    return wan_bytes(transfer) + int(transfer.ledger.totals["from_site"])


def test_once_the_download_leaves_the_wan_its_limit_is_lifted(engine: Engine, tmp_path: Path) -> None:
    background = _fetching(engine, tmp_path, "image.bin", "background")
    link = Link()
    yielder = Yielder(engine.book, probe=link.probe, clock=link.clock, received=_all_bytes)
    _another_flow(engine, background, link, yielder)
    assert _limit(engine, background) > 0
    transfer = engine.book.get(background)
    assert transfer is not None and transfer.ledger is not None
    for _ in range(40):  # no more WAN bytes: the rest comes from site-mates
        transfer.ledger.totals["from_site"] += 10_000
        yielder.step()
    assert _limit(engine, background) <= 0


def test_a_download_its_limit_starves_keeps_the_limit(engine: Engine, tmp_path: Path) -> None:
    """At the floor, beside the office's flow, a download may get no bytes at all for seconds:
    it has not left the WAN, and the office's flow keeps the link."""
    background = _fetching(engine, tmp_path, "image.bin", "background")
    link = Link()
    yielder = Yielder(engine.book, probe=link.probe, clock=link.clock, received=_all_bytes)
    _another_flow(engine, background, link, yielder)
    limited = _limit(engine, background)
    assert limited > 0
    for _ in range(40):  # nothing from anyone, the other flow's queue still up
        yielder.step()
    assert 0 < _limit(engine, background) <= limited


def test_a_hold_back_and_the_yielding_share_one_limit(engine: Engine, tmp_path: Path) -> None:
    """Held back for a higher priority distribution, a yielding download gets the trickle; once
    let go, the yielder's limit is in force again once it ramped up; the end of the yielding
    lifts only its own."""
    background = _fetching(engine, tmp_path, "image.bin", "background")
    transfer = engine.book.get(background)
    assert transfer is not None
    limits = DownloadLimits()
    holds = Holds(engine.book, limits)
    link = Link()
    yielder = Yielder(engine.book, limits, probe=link.probe, clock=link.clock, received=wan_bytes)
    _another_flow(engine, background, link, yielder)
    yielded = _limit(engine, background)
    assert priority.TRICKLE < yielded <= FLOOR_BPS
    holds.set({background: "f" * 16})  # a higher priority distribution needs the link
    assert _limit(engine, background) == priority.TRICKLE
    for _ in range(5):
        _from_the_wan(engine, background, 1_000)
        yielder.step()
    assert _limit(engine, background) == priority.TRICKLE, "the yielder lifted a hold-back"
    holds.set({})
    for _ in range(int(RAMP_S / SAMPLE_S) + 3):  # let go, it ramps up before it is judged
        _from_the_wan(engine, background, 1_000)
        yielder.step()
    assert priority.TRICKLE < _limit(engine, background) <= 2 * FLOOR_BPS
    holds.set({background: "f" * 16})
    for _ in range(40):  # no more WAN bytes: the yielding ends, the hold-back stays
        yielder.step()
    assert _limit(engine, background) == priority.TRICKLE
    holds.set({})
    assert _limit(engine, background) <= 0


def test_a_download_alone_that_fills_the_queue_itself_stays_unlimited(engine: Engine, tmp_path: Path) -> None:
    """Its own queue: what comes in does not drop, so the queue is not another flow's."""
    background = _fetching(engine, tmp_path, "image.bin", "background")
    link = Link()
    yielder = Yielder(engine.book, probe=link.probe, clock=link.clock, received=wan_bytes)
    for rtt in [BASE] * 5 + [BASE + 0.040] * 100:
        link.rtt = rtt
        _from_the_wan(engine, background, 100_000)
        yielder.step()
    assert _limit(engine, background) <= 0
