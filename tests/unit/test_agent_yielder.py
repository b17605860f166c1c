"""Background downloads over the WAN yield to other traffic: the agent's yielder on a real
libtorrent session. The link's round trips are played in (the loopback has no queue)."""

from __future__ import annotations

from pathlib import Path

from loopback_engine import fetching as _fetching

from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.agent.yielder import Yielder
from salt_p2pdist.core.yielding import FLOOR_BPS, SAMPLE_S

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
    yielder = Yielder(engine.book, probe=link.probe, clock=link.clock)
    for _ in range(5):  # an idle link: the base round trip
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
    for _ in range(30):
        _from_the_wan(engine, background, 1_000)
        yielder.step()
    assert _limit(engine, background) > FLOOR_BPS


def test_a_background_download_from_its_own_site_is_not_limited(engine: Engine, tmp_path: Path) -> None:
    background = _fetching(engine, tmp_path, "image.bin", "background")
    link = Link()
    link.rtt = BASE + 0.040  # the WAN is busy, but this host's bytes come over the LAN
    yielder = Yielder(engine.book, probe=link.probe, clock=link.clock)
    for _ in range(30):
        assert not yielder.step()
    assert _limit(engine, background) <= 0
    assert link.probed == [], "a host not on the WAN timed the tracker"


def test_once_the_download_leaves_the_wan_its_limit_is_lifted(engine: Engine, tmp_path: Path) -> None:
    background = _fetching(engine, tmp_path, "image.bin", "background")
    link = Link()
    yielder = Yielder(engine.book, probe=link.probe, clock=link.clock)
    for rtt in [BASE] * 5 + [BASE + 0.040] * 20:
        link.rtt = rtt
        _from_the_wan(engine, background, 1_000)
        yielder.step()
    assert _limit(engine, background) > 0
    for _ in range(40):  # no more WAN bytes (the rest comes from site-mates)
        yielder.step()
    assert _limit(engine, background) <= 0


def test_a_limit_set_elsewhere_is_left_alone(engine: Engine, tmp_path: Path) -> None:
    """A download held back for a higher priority distribution keeps that limit."""
    background = _fetching(engine, tmp_path, "image.bin", "background")
    transfer = engine.book.get(background)
    assert transfer is not None
    link = Link()
    yielder = Yielder(engine.book, probe=link.probe, clock=link.clock)
    for rtt in [BASE] * 5 + [BASE + 0.040] * 20:
        link.rtt = rtt
        _from_the_wan(engine, background, 1_000)
        yielder.step()
    transfer.handle.set_download_limit(1024)  # held back meanwhile
    for rtt in [BASE + 0.040] * 5 + [BASE] * 30:
        link.rtt = rtt
        _from_the_wan(engine, background, 1_000)
        yielder.step()
    assert _limit(engine, background) == 1024
    for _ in range(40):  # no more WAN bytes: nothing of ours to lift
        yielder.step()
    assert _limit(engine, background) == 1024
