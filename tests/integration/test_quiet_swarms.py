"""Finished distributions go quiet, and newcomers wake them: real Salt master, minions and agents."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.testing.deployment import Deployment, sha256, write_random
from salt_p2pdist.testing.waiting import wait_for

GRACE_S = 2  # quiet_after= of these pushes
INTERVAL_S = 5  # the deployment's announce interval


def agent_of(deployment: Deployment, minion: str) -> AgentClient:
    endpoint = next(deployment.minion_root(minion).rglob("agent.json"))
    return AgentClient(endpoint.parent, minion)


def open_on_origin(deployment: Deployment) -> set[str]:
    """The distributions whose torrent the master's seeder holds open."""
    origin = AgentClient(deployment.root / "master" / "cache" / "p2pdist" / "origin", "origin")
    return set(origin.call("GET", "/torrents")["dist_ids"])


def status(deployment: Deployment, dist_id: str) -> dict[str, Any]:
    return dict(deployment.salt_run("p2pdist.status", dist_id))


def audit_entries(deployment: Deployment, action: str) -> list[dict[str, Any]]:
    log = deployment.root / "master" / "cache" / "p2pdist" / "audit.log"
    return [e for e in map(json.loads, log.read_text().splitlines()) if e["action"] == action]


def test_finished_distributions_go_quiet_and_a_newcomer_completes_from_the_quiet_holders(
        deployment: Deployment, srv: Path) -> None:
    payloads, ids = [], []
    for n in range(3):
        payloads.append(write_random(srv / f"quiet{n}.bin", 512 << 10, seed=70 + n))
        ret = deployment.salt_run("p2pdist.push", str(payloads[-1]), timeout=300,
                                  kwargs={"tgt": "m1,m2", "tgt_type": "list", "dest": "/opt/quiet",
                                          "wait": True, "quiet_after": GRACE_S})
        assert ret["result"] is True, ret
        ids.append(ret["id"])

    # Every target holds them: after the grace the tracker tells each holder at its next
    # announce, and the holder closes the torrent; the files stay.
    wait_for("three quiet swarms, nobody announcing", lambda: all(
        (s := status(deployment, d)["distribution"])["state"] == "quiet" and s["announcing"] == 0
        for d in ids), timeout=60)
    held = deployment.salt("m1,m2", "p2pdist.status", tgt_type="list")
    assert all(held[m][d]["state"] == "quiet" for m in ("m1", "m2") for d in ids), held
    # The master's seeder closes them too (its own check runs every 2 s); status says so.
    wait_for("the origin's seeds closed", lambda: not set(ids) & open_on_origin(deployment), timeout=10)
    assert all((s := status(deployment, d)["distribution"])["origin"] == "quiet" and not s["origin_seeds"]
               for d in ids)
    # Other tests' distributions on these minions are not quiet: only these must be closed.
    assert all(not set(ids) & set(agent_of(deployment, m).call("GET", "/torrents")["dist_ids"])
               for m in ("m1", "m2"))
    for m in ("m1", "m2"):
        assert sha256(deployment.copy_at(m, "/opt/quiet", "quiet0.bin")) == sha256(payloads[0])
    before = {d: status(deployment, d)["distribution"]["announces"] for d in ids}
    time.sleep(INTERVAL_S + 1)  # longer than an announce interval
    assert {d: status(deployment, d)["distribution"]["announces"] for d in ids} == before
    scheduled = {e["details"]["id"] for e in audit_entries(deployment, "quiet")}
    assert set(ids) <= scheduled

    # The master stops seeding the first; pushed to m3 it is not seeded again: the
    # woken holders serve it.
    assert deployment.salt_run("p2pdist.stop_seeding", ids[0])["result"] is True
    ret = deployment.salt_run("p2pdist.push", str(payloads[0]), timeout=300,
                              kwargs={"tgt": "m3", "dest": "/opt/quiet", "wait": True,
                                      "quiet_after": "never"})
    assert ret["result"] is True and ret["targets"] == ["m3"], ret
    assert ret["origin"].startswith("not seeding"), ret
    assert sha256(deployment.copy_at("m3", "/opt/quiet", "quiet0.bin")) == sha256(payloads[0])
    shown = status(deployment, ids[0])
    # The master held no torrent for it (stop_seeding): m3's bytes came from the woken holders.
    assert shown["distribution"]["origin_seeds"] is False and shown["distribution"]["origin"] == "stopped"
    assert shown["distribution"]["served_by_master"] is None
    assert shown["minions"]["m3"]["from_origin"] in (0, None), shown["minions"]["m3"]
    assert shown["distribution"]["state"] == "complete" and shown["distribution"]["quiet_at"] is None
    woken = deployment.salt("m1,m2", "p2pdist.status", ids[0], tgt_type="list")
    assert all(woken[m]["state"] == "seeding" for m in ("m1", "m2")), woken
    [wake] = [e for e in audit_entries(deployment, "wake") if e["details"]["id"] == ids[0]]
    assert wake["details"]["was"] == "quiet" and sorted(wake["details"]["holders"]) == ["m1", "m2"]
    # The other two stay quiet.
    assert [status(deployment, d)["distribution"]["state"] for d in ids[1:]] == ["quiet", "quiet"]
    assert all(set(ids) & set(agent_of(deployment, m).call("GET", "/torrents")["dist_ids"]) == {ids[0]}
               for m in ("m1", "m2"))
    assert not set(ids) & open_on_origin(deployment)

    # The second, still seeded by the master but quiet, is pushed to m3: the master's seeder
    # opens it again (from its resume data) with the holders, and m3 completes.
    ret = deployment.salt_run("p2pdist.push", str(payloads[1]), timeout=300,
                              kwargs={"tgt": "m3", "dest": "/opt/quiet", "wait": True,
                                      "quiet_after": "never"})
    assert ret["result"] is True and ret["origin"] == "seeding", ret
    assert sha256(deployment.copy_at("m3", "/opt/quiet", "quiet1.bin")) == sha256(payloads[1])
    assert set(ids) & open_on_origin(deployment) == {ids[1]}
    shown = status(deployment, ids[1])["distribution"]
    assert (shown["origin"], shown["origin_seeds"], shown["state"]) == ("seeding", True, "complete")
    # The third stays quiet, on the origin too.
    assert status(deployment, ids[2])["distribution"]["origin"] == "quiet"
