"""Quiet swarms: the grace, the phase tables, the tracker's answer, status, and the master's decisions."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from salt_fakes import FakeAgent, FakeMinions
from test_tracker import INFO_HASH, Clock, announce, failure, peers_of

from salt_p2pdist.core import lifecycle as lc
from salt_p2pdist.core import status
from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.quiet import QUIET_REASON, is_quiet_answer, parse_grace
from salt_p2pdist.core.reports import wake_requests_from_events
from salt_p2pdist.files import audit
from salt_p2pdist.master import eventstream, quieting
from salt_p2pdist.master.catalog import Catalog
from salt_p2pdist.tracker.tracker import Tracker

# -- the grace ------------------------------------------------------------------


@pytest.mark.parametrize(("given", "seconds"), [
    (30, 30.0), (0, 0.0), ("90", 90.0), ("90s", 90.0), ("15m", 900.0), ("2h", 7200.0),
    ("7d", 604800.0), ("1.5h", 5400.0), (" 2H ", 7200.0), ("never", None), ("Off", None), (None, None)])
def test_a_grace_reads_as_seconds_or_never(given: Any, seconds: float | None) -> None:
    assert parse_grace(given) == seconds


@pytest.mark.parametrize("given", ["soon", "2 weeks", "-5", -1, True, "h", "5y", [3]])
def test_a_grace_that_is_no_duration_is_refused(given: Any) -> None:
    with pytest.raises(InvalidRequest, match="quiet_after"):
        parse_grace(given)


def test_the_master_default_is_a_day_and_can_be_never() -> None:
    opts: dict[str, Any] = {"cachedir": "/tmp/c"}
    assert MasterSettings.from_opts(opts).quiet_after_s == 86400
    assert MasterSettings.from_opts({**opts, "p2pdist": {"quiet_after": "never"}}).quiet_after_s is None
    with pytest.raises(InvalidRequest, match="quiet_after"):
        MasterSettings.from_opts({**opts, "p2pdist": {"quiet_after": "later"}})


# -- the phase tables -------------------------------------------------------------


def test_a_complete_copy_goes_quiet_and_wakes_where_it_lies() -> None:
    lc.check_phase_move("d", lc.PLACED, lc.DORMANT)
    lc.check_phase_move("d", lc.DORMANT, lc.PLACED)
    # The origin's seed goes quiet with its swarm too, and wakes as the seed it was.
    lc.check_phase_move("d", lc.SEED, lc.DORMANT)
    lc.check_phase_move("d", lc.DORMANT, lc.SEED)
    assert (lc.awake_phase("seed"), lc.awake_phase("fetch")) == (lc.SEED, lc.PLACED)
    assert [p for p in lc.AGENT_PHASES if lc.can_go_quiet(p)] == [lc.SEED, lc.PLACED]
    for old in (lc.STAGING, lc.MOVING):  # only a copy complete where it lies goes quiet
        with pytest.raises(lc.IllegalTransition):
            lc.check_phase_move("d", old, lc.DORMANT)
    with pytest.raises(lc.IllegalTransition):
        lc.check_phase_move("d", lc.DORMANT, lc.STAGING)
    with pytest.raises(lc.IllegalTransition):
        lc.check_first_phase("d", lc.DORMANT)


def test_quiet_is_complete_and_terminal_and_wakes_to_sharing() -> None:
    assert lc.is_complete(lc.QUIET) and lc.QUIET in lc.TERMINAL_STATES and not lc.is_active(lc.QUIET)
    assert lc.can_move(lc.SEEDING, lc.QUIET) and lc.can_move(lc.DONE, lc.QUIET)
    assert lc.can_move(lc.QUIET, lc.SEEDING) and lc.can_move(lc.QUIET, lc.CHECKING)
    assert not lc.can_move(lc.DOWNLOADING, lc.QUIET)


def test_the_swarm_table_active_complete_quiet_and_back() -> None:
    assert set(lc.SWARM_MOVES) == {lc.SWARM_ACTIVE, lc.SWARM_COMPLETE, lc.SWARM_QUIET}
    lc.check_swarm_move("d", lc.SWARM_ACTIVE, lc.SWARM_COMPLETE)
    lc.check_swarm_move("d", lc.SWARM_COMPLETE, lc.SWARM_QUIET)
    lc.check_swarm_move("d", lc.SWARM_QUIET, lc.SWARM_ACTIVE)
    lc.check_swarm_move("d", lc.SWARM_COMPLETE, lc.SWARM_ACTIVE)
    for old, new in ((lc.SWARM_ACTIVE, lc.SWARM_QUIET), (lc.SWARM_QUIET, lc.SWARM_COMPLETE)):
        with pytest.raises(lc.IllegalTransition):
            lc.check_swarm_move("d", old, new)
    assert lc.swarm_phase(all_hold=False, quiet_at=5.0, now=10.0) == lc.SWARM_ACTIVE
    assert lc.swarm_phase(all_hold=True, quiet_at=None, now=10.0) == lc.SWARM_COMPLETE
    assert lc.swarm_phase(all_hold=True, quiet_at=15.0, now=10.0) == lc.SWARM_COMPLETE
    assert lc.swarm_phase(all_hold=True, quiet_at=10.0, now=10.0) == lc.SWARM_QUIET


# -- the tracker's answer -----------------------------------------------------------


def test_a_holder_of_a_quiet_swarm_is_told_so_and_leaves_the_table_a_fetcher_is_served() -> None:
    clock, wall = Clock(), Clock()
    t = Tracker(interval=30, clock=clock, rng=random.Random(1), wall_clock=wall)
    t.register(INFO_HASH, frozenset({"m1", "m2", "m3"}), 0)
    swarm = t.swarms[INFO_HASH]
    peers_of(announce(t, "m1", "10.0.0.1", left=0))
    peers_of(announce(t, "m2", "10.0.0.2", left=0))
    swarm.quiet_at = wall.now + 60
    peers_of(announce(t, "m1", "10.0.0.1", left=0))  # the grace still runs
    wall.now += 60
    assert failure(announce(t, "m1", "10.0.0.1", left=0)) == QUIET_REASON
    assert is_quiet_answer(QUIET_REASON) and not is_quiet_answer("unknown torrent")
    assert set(swarm.peers) == {"m2"}
    # A newcomer still gets an answer: the holders it needs are woken through Salt.
    assert peers_of(announce(t, "m3", "10.0.0.3", left=100)) == {("10.0.0.2", 6881)}
    assert failure(announce(t, "m2", "10.0.0.2", left=0)) == QUIET_REASON
    assert set(swarm.peers) == {"m3"} and swarm.announces == 6
    swarm.quiet_at = None  # woken
    peers_of(announce(t, "m1", "10.0.0.1", left=0))


def test_the_origin_is_needed_while_the_swarm_is_awake_or_a_host_fetches_in_it() -> None:
    clock, wall = Clock(), Clock()
    t = Tracker(interval=30, peer_ttl=150, clock=clock, rng=random.Random(1), wall_clock=wall)
    t.register(INFO_HASH, frozenset({"m1", "m2"}), 6881)
    dist_id = INFO_HASH.hex()[:16]
    swarm = t.swarms[INFO_HASH]
    peers_of(announce(t, "m1", "10.0.0.1", left=0))
    assert t.needing_origin() == {dist_id: True}  # no quiet time
    swarm.quiet_at = wall.now + 60
    assert t.needing_origin() == {dist_id: True}  # the grace runs
    wall.now += 60
    assert t.needing_origin() == {dist_id: False}  # quiet, even before the holder has heard it
    # A newcomer fetches in the quiet swarm (its holders not woken): the origin is its source.
    peers_of(announce(t, "m2", "10.0.0.2", left=100))
    assert t.needing_origin() == {dist_id: True}
    clock.now += 150  # not heard from for a peer's lifetime: gone
    assert t.needing_origin() == {dist_id: False}
    peers_of(announce(t, "m2", "10.0.0.2", left=100))
    failure(announce(t, "m2", "10.0.0.2", left=0))  # complete now: told the swarm is quiet
    assert t.needing_origin() == {dist_id: False}
    swarm.quiet_at = None  # woken
    assert t.needing_origin() == {dist_id: True}


# -- status ---------------------------------------------------------------------------

DIST = {"id": "d1", "name": "pkg", "source": "/srv/pkg", "dest": "/opt", "total_bytes": 10,
        "created_by": "alice", "created": 1.0, "cancelled": 0}


def _row(minion: str, state: str) -> dict[str, Any]:
    return {"minion": minion, "current_order": "o1", "order_id": "o1", "state": state, "ts": 100.0,
            "bytes_done": 10}


def test_status_shows_a_quiet_swarm_and_its_holders_quiet_once_the_grace_has_passed() -> None:
    rows = [_row("m1", "seeding"), _row("m2", "quiet")]
    waiting = status.distribution_view({**DIST, "quiet_at": 200.0}, rows, now=150.0)
    assert waiting["distribution"]["state"] == "complete"
    assert waiting["distribution"]["quiet_at"] == 200.0
    assert waiting["minions"]["m1"]["state"] == "seeding"
    quiet = status.distribution_view({**DIST, "quiet_at": 200.0}, rows, now=200.0)
    assert quiet["distribution"]["state"] == "quiet" and quiet["distribution"]["done"] == 2
    assert {h["state"] for h in quiet["minions"].values()} == {"quiet"}
    # A newcomer that has not answered yet makes it active again, whatever the clock says.
    woken = status.distribution_view({**DIST, "quiet_at": 200.0}, [*rows, {"minion": "m3"}], now=300.0)
    assert woken["distribution"]["state"] == "active"
    assert woken["minions"]["m1"]["state"] == "seeding"


# -- the master's decisions ---------------------------------------------------------------


@pytest.fixture
def cfg(tmp_path: Path) -> MasterSettings:
    return MasterSettings.from_opts({"cachedir": str(tmp_path), "p2pdist": {"quiet_after": "1h"}})


def _catalog(cfg: MasterSettings, targets: list[str], quiet_after: float | None = None) -> Catalog:
    catalog = Catalog(cfg.state_dir / "catalog.sqlite")
    catalog.add_distribution(dist_id="d1", name="pkg", source="/srv/pkg", dest="/opt", torrent=b"t",
                             total_bytes=10, num_pieces=1, user="alice", targets=targets,
                             quiet_after=quiet_after)
    return catalog


def _report(catalog: Catalog, minion: str, state: str) -> None:
    order = next(r["current_order"] for r in catalog.host_rows("d1") if r["minion"] == minion)
    catalog.record_reports([("d1", minion, 100.0, {"state": state, "order_id": order})])


def test_the_quiet_time_is_set_once_every_target_holds_it_and_audited(cfg: MasterSettings) -> None:
    catalog = _catalog(cfg, ["m1", "m2"], quiet_after=600)
    origin = FakeAgent({("POST", "/swarms/d1"): {}})
    _report(catalog, "m1", "seeding")
    _report(catalog, "m2", "downloading")
    assert quieting.note_complete(cfg, origin, catalog, ["d1"], now=1000.0) == []
    _report(catalog, "m2", "seeding")
    assert quieting.note_complete(cfg, origin, catalog, ["d1"], now=1000.0) == ["d1"]
    assert origin.calls == [("POST", "/swarms/d1", {"quiet_at": 1600.0})]
    assert catalog.distribution("d1")["quiet_at"] == 1600.0  # type: ignore[index]
    assert quieting.note_complete(cfg, origin, catalog, ["d1"], now=2000.0) == []  # set once
    [entry] = [e for e in audit.read(cfg.state_dir / "audit.log") if e["action"] == "quiet"]
    assert entry["result"] == "scheduled" and entry["details"]["quiet_after_s"] == 600


def test_never_quiet_and_the_masters_default(cfg: MasterSettings) -> None:
    catalog = _catalog(cfg, ["m1"], quiet_after=quieting.stored_grace(None))
    _report(catalog, "m1", "seeding")
    origin = FakeAgent({("POST", "/swarms/d1"): {}})
    assert quieting.note_complete(cfg, origin, catalog, ["d1"], now=1.0) == []
    assert quieting.grace_of(cfg, {"quiet_after": None}) == 3600  # pushed before: the default


def test_a_tracker_that_does_not_answer_leaves_the_swarm_up(cfg: MasterSettings) -> None:
    catalog = _catalog(cfg, ["m1"], quiet_after=0)
    _report(catalog, "m1", "seeding")
    assert quieting.note_complete(cfg, FakeAgent(), catalog, ["d1"]) == []
    assert catalog.distribution("d1")["quiet_at"] is None  # type: ignore[index]


def test_a_new_target_wakes_the_tracker_first_then_the_holders_not_ordered(cfg: MasterSettings) -> None:
    catalog = _catalog(cfg, ["m1", "m2"], quiet_after=0)
    _report(catalog, "m1", "seeding")
    _report(catalog, "m2", "seeding")
    origin, minions = FakeAgent({("POST", "/swarms/d1"): {}}), FakeMinions({})
    quieting.note_complete(cfg, origin, catalog, ["d1"], now=10.0)
    told = quieting.wake(cfg, origin, minions, catalog, "d1", user="bob", why="push",
                         ordered=["m2", "m3"], now=20.0)
    assert told == ["m1"] and minions.sent == [(["m1"], quieting.WAKE, {"dist_id": "d1"})]
    assert origin.calls[-1] == ("POST", "/swarms/d1", {"quiet_at": None})
    assert catalog.distribution("d1")["quiet_at"] is None  # type: ignore[index]
    [entry] = [e for e in audit.read(cfg.state_dir / "audit.log") if e["action"] == "wake"]
    assert (entry["user"], entry["details"]["was"], entry["details"]["why"]) == ("bob", "quiet", "push")
    # Awake already: nothing to do.
    assert quieting.wake(cfg, origin, minions, catalog, "d1", user="bob", why="push") == []


def test_a_present_state_wakes_only_a_swarm_that_admits_the_minion(cfg: MasterSettings) -> None:
    events = [{"tag": f"p2pdist/wake/{m}", "data": {"id": sender, "data": {"dist_id": "d1"}}}
              for m, sender in (("m3", "m3"), ("m4", "m3"))]  # the second one lies about its name
    assert wake_requests_from_events(events) == [("m3", "d1")]
    catalog = _catalog(cfg, ["m1", "m2"], quiet_after=0)
    _report(catalog, "m1", "seeding")
    _report(catalog, "m2", "seeding")
    origin, minions = FakeAgent({("POST", "/swarms/d1"): {}}), FakeMinions({})
    quieting.note_complete(cfg, origin, catalog, ["d1"], now=10.0)
    eventstream.wake_for_present(cfg, origin, minions, catalog, "m9", "d1")  # not admitted
    assert minions.sent == []
    catalog.add_distribution(dist_id="d1", name="pkg", source="/srv/pkg", dest="/opt", torrent=b"t",
                             total_bytes=10, num_pieces=1, user="alice", targets=[], allowed=["m3"])
    catalog.set_quiet_at("d1", 10.0)
    eventstream.wake_for_present(cfg, origin, minions, catalog, "m3", "d1")
    assert minions.sent == [(["m1", "m2"], quieting.WAKE, {"dist_id": "d1"})]
