"""Priorities on the master: push priority=, the p2pdist.priority runner, status, the catalog."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from salt_fakes import FakeAgent, FakeMinions, salt_keypair
from test_master_commands import MINIONS, audit_entries, caller

from salt_p2pdist.core import present
from salt_p2pdist.master import push, reprioritize, watch
from salt_p2pdist.master.catalog import Catalog


def seeder() -> FakeAgent:
    return FakeAgent({("POST", "/dists"): {}, ("POST", "/topology"): {}})


def pushed(tmp_path: Path, source: Path, minions: FakeMinions, agent: FakeAgent, **kw: Any) -> dict[str, Any]:
    if not (tmp_path / "pki" / "master.pem").exists():
        salt_keypair(tmp_path / "pki", "master.pem", "master.pub")
    c = caller(tmp_path, minions, seeder=agent)
    return push.push(c, push.PushRequest(str(source), "web*", dest=str(tmp_path / "dest"), **kw))


def test_a_push_carries_its_priority_to_the_catalog_the_origin_and_the_order(tmp_path: Path,
                                                                             source: Path) -> None:
    minions, agent = FakeMinions(MINIONS), seeder()
    ret = pushed(tmp_path, source, minions, agent, priority="urgent")
    assert ret["result"] is True and ret["priority"] == "urgent"
    [(_targets, _fun, order)] = minions.asked
    assert order["priority"] == "urgent"
    [seed] = [b for m, p, b in agent.calls if p == "/dists"]
    assert seed["priority"] == "urgent"
    c = caller(tmp_path, minions)
    assert c.catalog().distribution(ret["id"])["priority"] == "urgent"


def test_the_default_is_normal_and_a_re_push_without_priority_keeps_the_level(tmp_path: Path,
                                                                             source: Path) -> None:
    minions = FakeMinions(MINIONS)
    first = pushed(tmp_path, source, minions, seeder())
    assert first["priority"] == "normal"
    pushed(tmp_path, source, minions, seeder(), priority="background")
    again = pushed(tmp_path, source, minions, seeder())
    assert again["priority"] == "background" and minions.asked[-1][2]["priority"] == "background"


def test_a_bad_priority_is_refused_naming_the_levels_and_nothing_is_recorded(tmp_path: Path,
                                                                            source: Path) -> None:
    minions = FakeMinions(MINIONS)
    ret = pushed(tmp_path, source, minions, seeder(), priority="asap")
    assert ret["retcode"] == 1
    assert "'asap' is not one of urgent, normal, background" in ret["error"]
    assert minions.asked == [] and caller(tmp_path, minions).catalog().distributions() == []


def test_the_priority_runner_tells_the_tracker_and_the_targets_and_audits(tmp_path: Path,
                                                                         source: Path) -> None:
    minions = FakeMinions(MINIONS)
    dist_id = pushed(tmp_path, source, minions, seeder())["id"]
    agent = FakeAgent({("POST", f"/swarms/{dist_id}"): {}})
    c = caller(tmp_path, minions, seeder=agent)
    ret = reprioritize.change(c, dist_id, "urgent")
    assert ret["result"] is True and (ret["was"], ret["priority"]) == ("normal", "urgent")
    assert ("POST", f"/swarms/{dist_id}", {"priority": "urgent"}) in agent.calls
    assert minions.sent == [(["web1", "web2"], reprioritize.PRIORITIZE,
                             {"dist_id": dist_id, "priority": "urgent"})]
    entry = audit_entries(c)[-1]
    assert entry["action"] == "priority" and entry["result"] == "ok"
    assert entry["details"]["was"] == "normal" and entry["details"]["priority"] == "urgent"
    assert c.catalog().distribution(dist_id)["priority"] == "urgent"


def test_the_priority_runner_refuses_a_bad_level_and_an_unknown_distribution(tmp_path: Path,
                                                                            source: Path) -> None:
    minions = FakeMinions(MINIONS)
    dist_id = pushed(tmp_path, source, minions, seeder())["id"]
    c = caller(tmp_path, minions, seeder=FakeAgent())
    ret = reprioritize.change(c, dist_id, "soon")
    assert ret["retcode"] == 1 and "urgent, normal, background" in ret["error"]
    assert audit_entries(c)[-1]["result"].startswith("refused")
    assert c.catalog().distribution(dist_id)["priority"] == "normal" and minions.sent == []
    assert reprioritize.change(c, "0" * 16, "urgent")["retcode"] == 1


def test_only_an_admin_who_may_push_it_there_changes_the_priority(tmp_path: Path, source: Path) -> None:
    minions = FakeMinions(MINIONS)
    dist_id = pushed(tmp_path, source, minions, seeder())["id"]
    agent = FakeAgent({("POST", f"/swarms/{dist_id}"): {}})
    narrow = caller(tmp_path, minions, seeder=agent, admins={"alice": {"targets": ["db*"]}})
    ret = reprioritize.change(narrow, dist_id, "urgent")
    assert ret["retcode"] == 1 and "may not change" in ret["error"] and minions.sent == []
    assert narrow.catalog().distribution(dist_id)["priority"] == "normal"
    outsider = caller(tmp_path, minions, user="mallory", seeder=agent, admins={"alice": {}})
    assert reprioritize.change(outsider, dist_id, "urgent")["retcode"] == 1
    wide = caller(tmp_path, minions, seeder=agent, admins={"alice": {"targets": ["web*"]}})
    assert reprioritize.change(wide, dist_id, "urgent")["result"] is True


def test_status_shows_each_distributions_priority(tmp_path: Path, source: Path) -> None:
    minions = FakeMinions(MINIONS)
    dist_id = pushed(tmp_path, source, minions, seeder(), priority="background")["id"]
    c = caller(tmp_path, minions, seeder=FakeAgent())
    listed = watch.status(caller(tmp_path, minions, seeder=FakeAgent()), "", False, 1)
    assert "  background  " in listed[dist_id]
    view = watch.view(c.catalog(), FakeAgent(), dist_id)
    assert view is not None and view["distribution"]["priority"] == "background"
    assert any("priority background" in line for line in present.detail_lines(view))


def test_a_catalog_made_before_priorities_gains_the_column_and_reads_normal(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE dists (id TEXT PRIMARY KEY, name TEXT NOT NULL, source TEXT NOT NULL,"
                " dest TEXT NOT NULL, torrent BLOB NOT NULL, total_bytes INTEGER NOT NULL,"
                " num_pieces INTEGER NOT NULL, created REAL NOT NULL, created_by TEXT NOT NULL,"
                " cancelled INTEGER NOT NULL DEFAULT 0)")
    old.execute("INSERT INTO dists VALUES ('a', 'n', '/s', '/d', x'00', 1, 1, 0, 'root', 0)")
    old.commit()
    old.close()
    catalog = Catalog(path)
    [dist] = catalog.distributions()
    assert dist["priority"] is None
    assert present.list_entry({"priority": "normal"})["priority"] == "normal"
    catalog.set_priority("a", "urgent")
    assert catalog.distribution("a")["priority"] == "urgent"


def test_status_shows_each_distributions_expected_finish_given_the_others(tmp_path: Path) -> None:
    from salt_p2pdist.core.wanlinks import wan_from_config
    catalog = Catalog(tmp_path / "catalog.db")
    size = 100_000_000  # 100 MB to one paris host over a 10 Mbit/s downlink: 80 s alone
    for dist_id, level in (("bg", "background"), ("fix", "urgent")):
        order = catalog.add_distribution(dist_id=dist_id, name=dist_id, source=f"/srv/{dist_id}",
                                         dest="/opt", torrent=b"t", total_bytes=size, num_pieces=10,
                                         user="alice", targets=["p1"], priority=level)
        catalog.record_reports([(dist_id, "p1", 1.0, {"state": "downloading", "bytes_done": 0,
                                                      "site": "paris", "order_id": order})])
    wan = wan_from_config({"paris": {"networks": ["10.20.0.0/16"], "down": 10, "up": 10}},
                          {"up": 1000, "down": 1000}, "hub")
    finishes = watch.expected_finishes(catalog, wan, now=2.0)
    assert finishes["fix"]["alone_s"] == pytest.approx(80.0)
    assert finishes["fix"]["expected_finish_s"] == pytest.approx(80.0) and finishes["fix"]["ahead"] == []
    assert finishes["bg"]["expected_finish_s"] == pytest.approx(160.0) and finishes["bg"]["ahead"] == ["fix"]
    shown = watch.view(catalog, FakeAgent(), "bg", wan)
    assert shown is not None
    assert any("expected to finish in 2 min 40 s after fix" in line for line in present.detail_lines(shown))


def test_a_settled_distribution_expects_no_finish_and_holds_no_one_back(tmp_path: Path) -> None:
    from salt_p2pdist.core.wanlinks import wan_from_config
    catalog = Catalog(tmp_path / "catalog.db")
    for dist_id, level, state in (("old", "urgent", "seeding"), ("gone", "urgent", "downloading"),
                                  ("bg", "background", "downloading")):
        order = catalog.add_distribution(dist_id=dist_id, name=dist_id, source=f"/srv/{dist_id}",
                                         dest="/opt", torrent=b"t", total_bytes=100_000_000, num_pieces=10,
                                         user="alice", targets=["p1"], priority=level)
        catalog.record_reports([(dist_id, "p1", 1.0, {"state": state, "bytes_done": 0,
                                                      "site": "paris", "order_id": order})])
    catalog.cancel("gone")
    wan = wan_from_config({"paris": {"networks": ["10.20.0.0/16"], "down": 10, "up": 10}},
                          {"up": 1000, "down": 1000}, "hub")
    shown = watch.view(catalog, FakeAgent(), "bg", wan)
    assert shown is not None and shown["distribution"]["ahead"] == []
    assert shown["distribution"]["expected_finish_s"] == pytest.approx(80.0)
    settled = watch.view(catalog, FakeAgent(), "old", wan)
    assert settled is not None and settled["distribution"]["state"] == "complete"
    assert "expected_finish_s" not in settled["distribution"]
