"""The runner's commands as master code: Salt and the origin agent handed in as fakes."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

from salt_fakes import FakeAgent, FakeMinions, salt_keypair

from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.files import audit
from salt_p2pdist.master import approve, cancel, origin, publishing, push, sharepolicy, watch
from salt_p2pdist.master.caller import Caller
from salt_p2pdist.torrent import signature

MINIONS = {"web*": ["web1", "web2"], "web1": ["web1"], "db*": ["db1"], "nothing": [],
           "G@role:web": ["web1", "web2"]}


def caller(tmp_path: Path, minions: FakeMinions, user: str = "alice", seeder: FakeAgent | None = None,
           **settings: Any) -> Caller:
    opts = {"cachedir": str(tmp_path / "cache"), "pki_dir": str(tmp_path / "pki"),
            "p2pdist": {"tracker_host": "master.example", "allowed_dest": [str(tmp_path / "dest")],
                        "torrent_dir": "", **settings}}
    return Caller(MasterSettings.from_opts(opts), opts, minions, user,
                  origin_agent=seeder or FakeAgent({("POST", "/dists"): {}, ("POST", "/topology"): {},
                                                    ("DELETE", "/dists/" + "0" * 16): {}}))


def audit_entries(c: Caller) -> list[dict[str, Any]]:
    return audit.read(c.cfg.state_dir / "audit.log")


def test_a_push_signs_records_seeds_and_publishes_one_order(tmp_path: Path, source: Path) -> None:
    _key, master_pub = salt_keypair(tmp_path / "pki", "master.pem", "master.pub")
    minions = FakeMinions(MINIONS, {"web1": {"result": True, "state": "downloading", "site": "paris"}})
    seeder = FakeAgent({("POST", "/dists"): {}, ("POST", "/topology"): {}})
    c = caller(tmp_path, minions, seeder=seeder)
    dest = str(tmp_path / "dest")
    ret = push.push(c, push.PushRequest(str(source), "web*", dest=dest))
    assert ret["result"] is True and "retcode" not in ret
    assert ret["accepted"] == ["web1"] and ret["no_answer"] == ["web2"]
    assert ret["targets"] == ["web1", "web2"] and ret["name"] == "app.tar"
    # One order, published once, to the targets; its torrent is the signed one, admitting them.
    [(targets, fun, order)] = minions.asked
    assert (targets, fun) == (["web1", "web2"], publishing.FETCH) and order["dest"] == dest
    torrent = base64.b64decode(order["torrent"])
    meta, roots = signature.check_torrent(torrent, master_pub)
    assert meta.dist_id == ret["id"] and roots == [dest]
    assert signature.admitted(torrent) == ["web1", "web2"]
    # The seeder got the same torrent to seed from the source itself, then the site map twice
    # (the answer carried a new site grain).
    seed = next(body for method, path, body in seeder.calls if path == "/dists")
    assert seed == {"mode": "seed", "torrent": order["torrent"], "source": str(source),
                    "targets": ["web1", "web2"], "upload_limit": 0, "priority": "normal"}
    assert [p for _m, p, _b in seeder.calls].count("/topology") == 2
    rows = {r["minion"]: r for r in c.catalog().host_rows(ret["id"])}
    assert rows["web1"]["state"] == "downloading"
    [entry] = audit_entries(c)
    assert (entry["action"], entry["user"], entry["result"]) == ("push", "alice", "ok")


def test_a_push_to_no_minion_changes_nothing(tmp_path: Path, source: Path) -> None:
    minions = FakeMinions(MINIONS)
    c = caller(tmp_path, minions)
    ret = push.push(c, push.PushRequest(str(source), "nothing", dest=str(tmp_path / "dest")))
    assert ret["result"] is False and ret["retcode"] == 1 and "matches no minion" in ret["error"]
    ret = push.push(c, push.PushRequest(str(source), "web1", dest=str(tmp_path / "dest"),
                                        allow="nothing"))
    assert ret["retcode"] == 1 and ret["error"].startswith("allow 'nothing' (glob) matches no minion")
    assert minions.asked == [] and c.catalog().distributions() == []


def test_a_refused_push_is_audited_with_what_was_asked(tmp_path: Path, source: Path) -> None:
    c = caller(tmp_path, FakeMinions(MINIONS))
    ret = push.push(c, push.PushRequest(str(source), "web*", dest="/etc"))
    assert ret["retcode"] == 1 and ret["error"].startswith("p2pdist.push refused: dest /etc is outside")
    [entry] = audit_entries(c)
    assert entry["result"].startswith("refused: dest /etc") and entry["details"]["tgt"] == "web*"


def test_admins_limit_who_pushes_where(tmp_path: Path, source: Path) -> None:
    minions = FakeMinions(MINIONS)
    c = caller(tmp_path, minions, admins={"alice": {"targets": ["db*"]}})
    ret = push.push(c, push.PushRequest(str(source), "web*", dest=str(tmp_path / "dest")))
    assert ret["retcode"] == 1 and "refused" in ret["error"] and minions.asked == []


def test_a_held_push_waits_and_the_requester_cannot_approve_it(tmp_path: Path, source: Path) -> None:
    minions = FakeMinions(MINIONS)
    c = caller(tmp_path, minions, approval={"max_targets": 1})
    held = push.push(c, push.PushRequest(str(source), "web*", dest=str(tmp_path / "dest")))
    assert held["state"] == "awaiting approval" and minions.asked == []
    [request] = c.desk().pending()
    assert request["args"] == {"path": str(source), "tgt": "web*", "tgt_type": "glob",
                               "dest": str(tmp_path / "dest"), "force": False, "order_timeout": 30,
                               "allow": "", "allow_type": "glob", "quiet_after": "",
                               "priority": ""}
    ret = approve.approve(c, held["request"], wait=False, timeout=10)
    assert ret["retcode"] == 1 and "cannot approve it" in ret["error"]
    # Listed as held by p2pdist.status, for scripts and for people.
    listed = watch.status(caller(tmp_path, minions, approval={"max_targets": 1}), "", False, 1)
    assert listed[held["request"]].startswith("awaiting approval: push by alice")


def test_another_admin_carries_out_a_held_cancel_under_both_names(tmp_path: Path) -> None:
    dist_id = "0" * 16
    minions = FakeMinions(MINIONS, {"web1": {"result": True}})
    alice = caller(tmp_path, minions, approval={"max_targets": 1})
    alice.catalog().add_distribution(dist_id=dist_id, name="app", source="/srv/app", dest="/srv/p2pdist",
                                     torrent=b"t", total_bytes=1, num_pieces=1, user="alice",
                                     targets=["web1", "web2"])
    held = cancel.cancel(alice, dist_id, purge=True)
    assert held["state"] == "awaiting approval" and minions.ran == []
    bob = caller(tmp_path, minions, user="bob", approval={"max_targets": 1})
    ret = approve.approve(bob, held["request"], wait=False, timeout=10)
    assert (ret["requested_by"], ret["approved_by"]) == ("alice", "bob")
    assert minions.ran == [(["web1", "web2"], cancel.REMOVE, [dist_id], {"purge": True})]
    # web2 did not answer: it may still hold the copy.
    assert ret["no_answer"] == ["web2"] and ret["retcode"] == 1 and "web2 did not remove" in ret["error"]
    assert alice.catalog().distribution(dist_id)["cancelled"]
    last = audit_entries(bob)[-1]
    assert (last["action"], last["user"], last["details"]["approved_by"]) == ("cancel", "alice", "bob")


def test_stop_seeding_an_unknown_distribution_is_refused(tmp_path: Path) -> None:
    ret = cancel.stop_seeding(caller(tmp_path, FakeMinions(MINIONS)), "f" * 16)
    assert ret["retcode"] == 1 and "no distribution" in ret["error"]


def test_a_silent_minion_fails_the_policy_query(tmp_path: Path) -> None:
    minions = FakeMinions(MINIONS, {"web1": {"result": True, "policy": {}}})
    ret = sharepolicy.policy_in_force(caller(tmp_path, minions), "web*", "glob", 5)
    assert ret["web2"] == sharepolicy.SILENT and ret["retcode"] == 1
    assert minions.ran == [(["web1", "web2"], "p2pdist.policy", [], None)]


def test_a_starting_minion_gets_its_pending_order_through_the_same_publisher(tmp_path: Path) -> None:
    minions = FakeMinions(MINIONS)
    c = caller(tmp_path, minions)
    catalog = c.catalog()
    from salt_p2pdist.torrent import creation, metainfo

    (tmp_path / "f").write_bytes(b"x" * 5000)
    torrent = creation.create(tmp_path / "f", "https://master.example:6970/announce")
    dist_id = metainfo.describe(torrent).dist_id
    order_id = catalog.add_distribution(dist_id=dist_id, name="f", source=str(tmp_path / "f"),
                                        dest="/srv/p2pdist", torrent=torrent, total_bytes=5000,
                                        num_pieces=1, user="alice", targets=["web1"])
    assert origin.resend_pending(c.cfg, c.opts, minions, catalog, "web1") == 1
    [(targets, fun, order)] = minions.sent
    assert (targets, fun, order["order_id"], order["force"]) == (["web1"], publishing.FETCH, order_id, False)
    assert base64.b64decode(order["torrent"]) == torrent
    assert order["report_every"] == 0  # one active minion: its own report_interval
    assert origin.resend_pending(c.cfg, c.opts, minions, catalog, "db1") == 0
    # Eleven minions pending at a budget of 1 report/s: a heartbeat of three 5 s ticks.
    catalog.add_distribution(dist_id=dist_id, name="f", source=str(tmp_path / "f"), dest="/srv/p2pdist",
                             torrent=torrent, total_bytes=5000, num_pieces=1, user="alice",
                             targets=[f"web{i}" for i in range(1, 12)])
    origin.resend_pending(dataclasses.replace(c.cfg, report_budget=1), c.opts, minions, catalog, "web1")
    assert minions.sent[-1][2]["report_every"] == 15
