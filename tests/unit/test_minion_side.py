"""What the salt-minion runs for p2pdist, with Salt and the agent handed in as fakes."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
from salt_fakes import FakeAgent, FakeMinionSalt, salt_keypair

from salt_p2pdist.core import admission
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.reports import POLICY_TAG_PREFIX, REPORT_TAG_PREFIX
from salt_p2pdist.minion import beaconing, calls, fetching, holdings, policysync, reporting, site
from salt_p2pdist.minion.host import Minion
from salt_p2pdist.torrent import creation, metainfo, signature

SITES = {"paris": {"networks": ["10.1.0.0/16"], "wan_rate": 1000}, "lyon": {"networks": ["10.2.0.0/16"]}}


def minion(tmp_path: Path, agent: FakeAgent | None = None, grains: dict[str, Any] | None = None,
           pillar: dict[str, Any] | None = None, pki: Path | None = None, **settings: Any
           ) -> tuple[Minion, FakeMinionSalt]:
    salt = FakeMinionSalt()
    opts = {"id": "m1", "pki_dir": str(pki or tmp_path / "pki"), "cachedir": str(tmp_path / "cache"),
            "p2pdist": settings}
    host = Minion(opts, grains or {"ipv4": ["127.0.0.1", "10.2.0.7"]}, pillar or {}, salt,
                  agent)
    return host, salt


def test_the_site_is_where_the_host_s_address_is_unless_a_grain_says_otherwise(tmp_path: Path) -> None:
    host, _ = minion(tmp_path, pillar={"p2pdist": {"sites": SITES}})
    assert site.policy_body(host)["site"] == "lyon"
    host, _ = minion(tmp_path, grains={"ipv4": ["10.2.0.7"], "p2pdist": {"site": "paris"}},
                     pillar={"p2pdist": {"sites": SITES, "policy": {"upload_rate": 5}}})
    body = site.policy_body(host)
    assert body == {"policy": {"upload_rate": 5}, "site": "paris", "site_networks": ["10.1.0.0/16"],
                    "wan_rate": 1000}
    # The outgoing interface is the address peers see first.
    host, _ = minion(tmp_path, pillar={"p2pdist": {"sites": SITES}}, outgoing_interface="10.1.0.9")
    assert site.policy_body(host)["site"] == "paris"


def test_a_refused_policy_is_announced_once_and_an_applied_one_clears_that(tmp_path: Path) -> None:
    agent = FakeAgent({("GET", "/policy"): {"digest": "a"}, ("POST", "/policy"): {"digest": "b"}})
    host, salt = minion(tmp_path, agent, pillar={"p2pdist": {"policy": {"no_such_key": 1}}})
    assert policysync.sync_policy(host, agent) != ""
    assert policysync.sync_policy(host, agent) != ""
    assert [(tag, ev["result"][:8]) for tag, ev in salt.fired] == [(POLICY_TAG_PREFIX + "m1", "refused:")]
    assert ("POST", "/policy") not in [(m, p) for m, p, _b in agent.calls]  # the last valid one stays
    host, salt = minion(tmp_path, agent, pillar={"p2pdist": {"policy": {}}})
    assert policysync.sync_policy(host, agent) == ""
    assert [ev["result"] for _t, ev in salt.fired] == ["applied"]
    assert not (host.settings().state_dir / policysync.REFUSED_MARKER).exists()


def test_reporting_is_a_beacon_and_an_older_report_schedule_is_replaced(tmp_path: Path) -> None:
    host, salt = minion(tmp_path, FakeAgent(), report_interval=7)
    salt.jobs[reporting.SCHEDULE_NAME] = {"function": "p2pdist.report", "seconds": 5}
    reporting.ensure_reporting(host)
    assert salt.beacon_config == {reporting.BEACON_NAME: [{"interval": 7}]}
    assert reporting.SCHEDULE_NAME not in salt.jobs
    assert salt.jobs[reporting.KEEPALIVE_NAME]["function"] == "p2pdist.ensure_agent"


def test_the_beacon_reports_while_active_then_once_per_change(tmp_path: Path) -> None:
    dists: dict[str, Any] = {"a" * 16: {"state": "downloading", "done": 10}}
    agent = FakeAgent({("GET", "/policy"): {"digest": "a"},
                       ("POST", "/policy"): {"digest": "a"}, ("GET", "/dists"): dists})
    host, salt = minion(tmp_path, agent)
    memory = beaconing.BeaconMemory()
    assert [beaconing.tick(host, memory, now) for now in (0, 5)] == [True, True]  # active: every call
    dists["a" * 16] = {"state": "seeding", "done": 100}
    assert beaconing.tick(host, memory, 10) is True  # settled: once
    dists["a" * 16]["uploaded"] = 5_000  # seeding moves counters, not states: nothing to send
    assert beaconing.tick(host, memory, 15) is False
    dists["a" * 16] = {"state": "removed"}
    assert beaconing.tick(host, memory, 20) is True
    assert [tag for tag, _ev in salt.fired] == [REPORT_TAG_PREFIX + "m1"] * 4
    # The policy went to the agent once: the pillar did not change within a minute.
    assert [p for m, p, _b in agent.calls if m == "POST"] == ["/policy"]
    assert salt.fired[-1][1]["dists"] == dists and salt.fired[-1][1]["minion"] == "m1"


def test_a_new_order_is_reported_though_it_ends_in_the_state_last_reported(tmp_path: Path) -> None:
    # A copy is cancelled (kept at dest) and pushed again between two ticks: the agent finds
    # it whole and seeds it, as before. The master waits for a report naming the new order.
    dists: dict[str, Any] = {"a" * 16: {"state": "seeding", "order_id": "o1"}}
    agent = FakeAgent({("GET", "/policy"): {"digest": "a"},
                       ("POST", "/policy"): {"digest": "a"}, ("GET", "/dists"): dists})
    host, salt = minion(tmp_path, agent)
    memory = beaconing.BeaconMemory()
    assert beaconing.tick(host, memory, 0) is True
    assert beaconing.tick(host, memory, 5) is False
    dists["a" * 16] = {"state": "seeding", "order_id": "o2"}
    assert beaconing.tick(host, memory, 10) is True
    assert salt.fired[-1][1]["dists"]["a" * 16]["order_id"] == "o2"


def test_the_beacon_has_a_down_agent_restarted_only_if_it_holds_something(tmp_path: Path) -> None:
    idle = FakeAgent(alive=False)
    host, salt = minion(tmp_path, idle)
    assert beaconing.tick(host, beaconing.BeaconMemory(), 0) is False
    assert salt.ran_jobs == [] and idle.started == 0  # the minion's loop never starts it itself
    holding = FakeAgent(alive=False, on_disk=["a" * 16])
    host, salt = minion(tmp_path, holding)
    memory = beaconing.BeaconMemory()
    for now in (0, 5, 10, 40):
        beaconing.tick(host, memory, now)
    assert salt.ran_jobs == [reporting.KEEPALIVE_NAME] * 2 and not salt.fired


def test_a_report_on_demand_starts_the_agent(tmp_path: Path) -> None:
    dists = {"a" * 16: {"state": "seeding"}}
    agent = FakeAgent({("GET", "/policy"): {"digest": "a"}, ("POST", "/policy"): {"digest": "a"},
                       ("GET", "/dists"): dists}, alive=False)
    host, _salt = minion(tmp_path, agent)
    assert reporting.report(host)["dists"] == dists and agent.started == 1


def test_the_agent_is_started_only_for_what_it_holds_on_disk(tmp_path: Path) -> None:
    idle = FakeAgent(alive=False)
    host, _ = minion(tmp_path, idle)
    assert holdings.ensure_agent(host) == {"result": True, "started": False, "distributions": 0}
    assert holdings.remove(host, "a" * 16, purge=False)["comment"] == "not held on this minion"
    holding = FakeAgent({("DELETE", f"/dists/{'a' * 16}?remove_data=1"): {"as_of": 5.0, "order_id": "o1"},
                         ("GET", "/policy"): {"digest": "a"}, ("POST", "/policy"): {"digest": "a"}},
                        alive=False, on_disk=["a" * 16])
    host, salt = minion(tmp_path, holding)
    assert holdings.remove(host, "a" * 16, purge=True)["result"] is True and holding.started == 1
    assert salt.fired == [(REPORT_TAG_PREFIX + "m1", {"minion": "m1", "ts": 5.0, "dists": {
        "a" * 16: {"state": "removed", "order_id": "o1"}}})]
    with pytest.raises(Exception, match="not a distribution id"):
        holdings.remove(host, "../etc", purge=True)


@pytest.fixture(scope="module")
def torrents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("signed")
    key, _pub = salt_keypair(d / "pki", "master.pem", "minion_master.pub")
    (d / "pkg.bin").write_bytes(os.urandom(50_000))
    unsigned = creation.create(d / "pkg.bin", "https://master.example:6970/announce")
    return {"pki": d / "pki", "unsigned": unsigned,
            "for_m1": signature.sign_torrent(unsigned, key, ["/srv/p2pdist"], ["m1"]),
            "for_m2": signature.sign_torrent(unsigned, key, ["/srv/p2pdist"], ["m2"])}


def test_an_order_reaches_the_agent_with_the_dest_resolved_here(tmp_path: Path, torrents: dict[str, Any]
                                                                ) -> None:
    agent = FakeAgent({("POST", "/dists"): {"state": "checking"}, ("GET", "/policy"): {"digest": "a"},
                       ("POST", "/policy"): {"digest": "a"}})
    host, salt = minion(tmp_path, agent, grains={"p2pdist": {"site": "lyon"}}, pki=torrents["pki"],
                        dest_prefix="/tmp/m1")
    ret = fetching.fetch(host, torrents["for_m1"], "/srv/p2pdist", order_id="o7", report_every=10)
    assert ret["result"] is True and ret["state"] == "checking" and ret["site"] == "lyon"
    assert reporting.pace(host) == 10  # the master's heartbeat for this many active minions
    order = next(body for method, path, body in agent.calls if (method, path) == ("POST", "/dists"))
    assert base64.b64decode(order["torrent"]) == torrents["for_m1"]
    assert (order["mode"], order["dest"], order["allowed_dest"], order["order_id"]) == (
        "fetch", "/tmp/m1/srv/p2pdist", ["/tmp/m1/srv/p2pdist"], "o7")
    assert reporting.BEACON_NAME in salt.beacon_config


def test_a_torrent_for_others_or_unsigned_is_refused_before_the_agent_hears_of_it(
        tmp_path: Path, torrents: dict[str, Any]) -> None:
    agent = FakeAgent()
    host, salt = minion(tmp_path, agent, pki=torrents["pki"])
    ret = fetching.fetch(host, torrents["for_m2"], "/srv/p2pdist")
    assert ret["result"] is False and "m1" in ret["error"]
    assert [tag for tag, _ev in salt.fired] == [admission.REFUSED_TAG_PREFIX + "m1"]
    assert "not signed" in fetching.fetch(host, torrents["unsigned"], "/srv/p2pdist")["error"]
    assert agent.calls == []


def test_a_bad_call_or_a_refusal_sets_the_retcode(tmp_path: Path) -> None:
    context: dict[str, Any] = {}

    @calls.salt_function({"purge": calls.args_check.FLAG}, lambda: context)
    def remove(purge: bool = False, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise InvalidRequest("no")

    assert "unknown argument 'purg'" in remove(purg=True)["error"] and context == {"retcode": 1}
    context.clear()
    assert remove(purge=True) == {"result": False, "error": "no"} and context == {"retcode": 1}


class FakeStateSalt:
    """minion.declared.StateSalt: the file client serves one torrent; the module is recorded."""

    def __init__(self, torrent_file: Path, held: dict[str, Any] | None = None):
        self.torrent_file, self.holding = torrent_file, held or {}
        self.refusals: list[str] = []
        self.fetched: list[bytes] = []

    def cache_file(self, url: str) -> str:
        return str(self.torrent_file) if url.startswith("salt://") else ""

    def held(self, dist_id: str = "") -> dict[str, Any]:
        return dict(self.holding.get(dist_id, {})) if dist_id else dict(self.holding)

    def fetch(self, torrent: bytes, dest: str, force: bool) -> dict[str, Any]:
        self.fetched.append(torrent)
        return {"result": True}

    def remove(self, dist_id: str) -> None:
        self.holding.pop(dist_id, None)

    def refused(self, dist_id: str, route: str, reason: str) -> None:
        self.refusals.append(route)


def test_the_present_state_checks_the_torrent_before_anything_even_in_test_mode(
        tmp_path: Path, torrents: dict[str, Any]) -> None:
    from salt_p2pdist.minion import declared

    (tmp_path / "m2.torrent").write_bytes(torrents["for_m2"])
    (tmp_path / "m1.torrent").write_bytes(torrents["for_m1"])
    host, _ = minion(tmp_path, pki=torrents["pki"], dest_prefix=str(tmp_path / "root"))
    salt = FakeStateSalt(tmp_path / "m2.torrent")
    ret = declared.present(host, salt, "app", "salt://p/app.torrent", "/srv/p2pdist", False, 5)
    assert ret["result"] is False and salt.refusals == ["p2pdist.present"] and salt.fetched == []
    missing = declared.present(host, salt, "app", "nowhere", "/srv/p2pdist", False, 5)
    assert missing["result"] is False and "cannot fetch" in missing["comment"]
    testing = Minion({**host.opts, "test": True}, host.grains, host.pillar, host.salt)
    salt = FakeStateSalt(tmp_path / "m1.torrent")
    ret = declared.present(testing, salt, "app", "salt://p/app.torrent", "/srv/p2pdist", False, 5)
    assert ret["result"] is None and ret["comment"].startswith("would fetch into /srv/p2pdist")
    assert salt.fetched == []
    dist_id = metainfo.describe(torrents["for_m1"]).dist_id
    salt = FakeStateSalt(tmp_path / "m1.torrent", {dist_id: {"state": "seeding"}})
    ret = declared.present(host, salt, "app", "salt://p/app.torrent", "/srv/p2pdist", False, 5)
    assert ret["result"] is True and salt.fetched == [torrents["for_m1"]]
    assert declared.absent(host, salt, "app", "salt://p/app.torrent", "/srv/p2pdist")["changes"] == {
        "removed": []} and salt.holding == {}


def test_the_beacon_hands_over_a_changed_pillar_policy_at_its_next_call(tmp_path: Path) -> None:
    agent = FakeAgent({("GET", "/policy"): {"digest": "a"}, ("POST", "/policy"): {"digest": "a"},
                       ("GET", "/dists"): {}})
    pillar: dict[str, Any] = {"p2pdist": {"policy": {"upload": "site"}}}
    host, _salt = minion(tmp_path, agent, pillar=pillar)
    memory = beaconing.BeaconMemory()
    beaconing.tick(host, memory, 0)
    beaconing.tick(host, memory, 5)
    pillar["p2pdist"]["policy"] = {"upload": "all"}
    beaconing.tick(host, memory, 10)
    beaconing.tick(host, memory, 75)  # and once a minute anyway
    posted = [b["policy"] for m, p, b in agent.calls if (m, p) == ("POST", "/policy")]
    assert posted == [{"upload": "site"}, {"upload": "all"}, {"upload": "all"}]


def test_the_present_state_lets_a_new_version_replace_the_one_held_at_dest(
        tmp_path: Path, torrents: dict[str, Any]) -> None:
    """A differing file at dest is a conflict, unless a version this minion holds, of the same
    name at the same dest, put it there: then the agent replaces it (and checks the details)."""
    from salt_p2pdist.minion import declared
    from salt_p2pdist.torrent import placement

    (tmp_path / "m1.torrent").write_bytes(torrents["for_m1"])
    host, _ = minion(tmp_path, pki=torrents["pki"], dest_prefix=str(tmp_path / "root"))
    testing = Minion({**host.opts, "test": True}, host.grains, host.pillar, host.salt)
    meta = metainfo.describe(torrents["for_m1"])
    local_dest = tmp_path / "root" / "srv" / "p2pdist"
    for rel, _size, _root in placement.dest_files(meta):
        (local_dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (local_dest / rel).write_bytes(b"the older version")
    ret = declared.present(testing, FakeStateSalt(tmp_path / "m1.torrent"), "app", "salt://p/app.torrent",
                           "/srv/p2pdist", False, 5)
    assert ret["result"] is False and "refusing to overwrite" in ret["comment"], ret
    older = {"0" * 16: {"name": meta.name, "state": "seeding", "dest": str(local_dest)}}
    elsewhere = {"0" * 16: {"name": meta.name, "state": "seeding", "dest": str(tmp_path / "other")}}
    assert declared.present(testing, FakeStateSalt(tmp_path / "m1.torrent", elsewhere), "app",
                            "salt://p/app.torrent", "/srv/p2pdist", False, 5)["result"] is False
    ret = declared.present(testing, FakeStateSalt(tmp_path / "m1.torrent", older), "app", "salt://p/app.torrent",
                           "/srv/p2pdist", False, 5)
    assert ret["result"] is None and ret["comment"].startswith("would fetch into /srv/p2pdist"), ret


def test_a_report_tells_the_master_an_older_version_replaced_here_is_gone() -> None:
    dists = {"v2": {"state": "seeding", "as_of": 5.0, "replaced": {"v1": "order-1"}},
             "v3": {"state": "downloading", "as_of": 6.0, "replaced": {"v2": "order-2"}},
             "x": {"state": "seeding", "as_of": 7.0}}
    # v2 is still held here (v3 has not replaced it yet): only v1 reads as removed.
    assert reporting.replaced_versions(dists) == {"v1": {"state": "removed", "order_id": "order-1",
                                                         "as_of": 5.0}}
