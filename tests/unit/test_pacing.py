"""The report heartbeat: the master's budget, the orders that carry it, the beacon that keeps it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from salt_fakes import FakeAgent
from test_minion_side import minion

from salt_p2pdist.core import pacing
from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.core.reports import REPORT_FIELDS, lean_dists
from salt_p2pdist.master import pacing as master_pacing
from salt_p2pdist.master.catalog import Catalog
from salt_p2pdist.minion import beaconing, reporting


def test_within_budget_every_tick_beyond_it_the_heartbeat_grows_with_the_active_minions() -> None:
    assert pacing.report_every(100, 1000, 5) == 5
    assert pacing.report_every(5000, 1000, 5) == 5  # 5,000 / 5 s = 1,000/s: just within
    assert pacing.report_every(5001, 1000, 5) == 10
    assert pacing.report_every(10_000, 1000, 5) == 10
    assert pacing.report_every(12_000, 1000, 5) == 15  # whole ticks, rounded up: 800/s
    for active in (1, 999, 5001, 10_000, 14_999, 15_000):
        every = pacing.report_every(active, 1000, 5)
        assert every % 5 == 0 and active / every <= 1000


def test_the_heartbeat_stops_growing_before_a_host_would_show_as_stale() -> None:
    assert pacing.report_every(1_000_000, 1000, 5) == pacing.MAX_REPORT_EVERY_S == 45
    assert pacing.report_every(10**6, 0, 5) == 5  # no budget: every tick
    assert pacing.report_every(10**6, 1000, 45) == 45  # never below the minion's own tick


def test_an_order_names_a_heartbeat_only_beyond_the_budget() -> None:
    assert pacing.order_pace(4000, 1000) == 0  # the minion's own report_interval
    assert pacing.order_pace(10_000, 1000) == 10
    assert MasterSettings.from_opts({"cachedir": "/c"}).report_budget == 250
    assert MasterSettings.from_opts({"cachedir": "/c", "p2pdist": {"report_budget": 0}}).report_budget == 0


def test_a_heartbeat_may_come_a_little_early_but_not_a_tick_early() -> None:
    assert pacing.heartbeat_due(0, 9.2, 10) and not pacing.heartbeat_due(0, 5.1, 10)
    assert pacing.heartbeat_due(float("-inf"), 0, 30)


def test_a_lean_report_keeps_what_the_master_stores_and_the_agent_s_stamp() -> None:
    full = {"d1": {**{f: 1 for f in REPORT_FIELDS}, "as_of": 5.0, "name": "x", "dest": "/srv",
                   "banned": ["10.0.0.1"], "failed_bytes": 9, "reused": 0, "replaced": {}}}
    assert lean_dists(full) == {"d1": {**{f: 1 for f in REPORT_FIELDS}, "as_of": 5.0}}
    assert lean_dists({"d2": {"state": "removed", "order_id": "o"}, "bad": 3}) == {
        "d2": {"state": "removed", "order_id": "o"}}


def test_the_master_counts_minions_that_report_now_once_each(tmp_path: Path) -> None:
    c = Catalog(tmp_path / "c.db")
    kw: dict[str, Any] = {"source": "/s", "dest": "/d", "torrent": b"t", "total_bytes": 1, "num_pieces": 1,
                          "user": "root"}
    o1 = c.add_distribution(dist_id="d1", name="a", targets=["m1", "m2", "m3"], **kw)
    o2 = c.add_distribution(dist_id="d2", name="b", targets=["m1", "m4"], **kw)
    c.record_reports([("d1", "m2", 1.0, {"state": "seeding", "order_id": o1}),
                      ("d1", "m3", 1.0, {"state": "downloading", "order_id": o1}),
                      ("d2", "m4", 1.0, {"state": "failed", "order_id": o2})])
    # m1 pending twice, m3 downloading; m2 holds its copy, m4 failed: they report no more
    assert master_pacing.active_minions(c) == {"m1", "m3"}
    c.cancel("d1")
    assert master_pacing.active_minions(c) == {"m1"}
    cfg = MasterSettings.from_opts({"cachedir": str(tmp_path), "p2pdist": {"report_budget": 1}})
    assert master_pacing.pace(cfg, c, ["m7", "m8", "m9"]) == 0  # 4 at 1/s: within a tick, no word
    assert master_pacing.pace(cfg, c, [f"n{i}" for i in range(20)]) == 25  # 21 at 1/s: 5 ticks
    c.close()


def test_the_beacon_keeps_the_heartbeat_the_last_order_set(tmp_path: Path) -> None:
    dists: dict[str, Any] = {"a" * 16: {"state": "downloading", "name": "big.iso", "as_of": 1.0}}
    agent = FakeAgent({("GET", "/policy"): {"digest": "a"}, ("POST", "/policy"): {"digest": "a"},
                       ("GET", "/dists"): dists})
    host, salt = minion(tmp_path, agent)
    reporting.set_pace(host, 15)
    memory = beaconing.BeaconMemory()
    sent = [now for now in range(0, 65, 5) if beaconing.tick(host, memory, now)]
    assert sent == [0, 15, 30, 45, 60]
    assert salt.fired[0][1]["dists"] == {"a" * 16: {"state": "downloading", "as_of": 1.0}}  # lean
    dists["a" * 16] = {"state": "seeding"}
    assert beaconing.tick(host, memory, 65) is True  # a settled transfer goes at the next tick
    reporting.set_pace(host, 0)  # an order within budget: the minion's own interval again
    dists["a" * 16] = {"state": "downloading"}
    assert [now for now in (70, 75, 80) if beaconing.tick(host, memory, now)] == [70, 75, 80]
    reporting.set_pace(host, "bogus")
    assert reporting.pace(host) == 5


def test_the_beacon_reads_the_heartbeat_file_again_only_once_it_changed(tmp_path: Path, monkeypatch) -> None:
    host, _salt = minion(tmp_path)
    reporting.set_pace(host, 15)
    reads: list[str] = []
    read_text = Path.read_text

    def counted(path: Path, *args: Any, **kwargs: Any) -> str:
        reads.append(path.name)
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counted)
    pace_file = reporting.PaceFile()
    assert [pace_file.seconds(host) for _tick in range(3)] == [15, 15, 15]
    assert reads.count(reporting.PACE_FILE) == 1
    reporting.set_pace(host, 20)  # a later order's heartbeat replaces the file: read at the next tick
    assert pace_file.seconds(host) == 20 == reporting.pace(host)
    reporting.set_pace(host, 0)  # the file goes: the minion's own report_interval
    assert pace_file.seconds(host) == 5
    reporting.set_pace(host, 15)
    assert pace_file.seconds(host) == 15
    assert reads.count(reporting.PACE_FILE) == 4  # the first time, each new file, and pace() itself
