"""Priorities with real daemons: an urgent push overtakes a background one already running.

The session's deployment: two sites on loopback (m1, m2 in paris; m3, m4 in
lyon), the master serving each distribution at 2 MiB/s at most. A background
distribution is running to every minion when an urgent one is pushed to the
same minions. Asserted: the urgent one completes everywhere while the
background one is held back (the tracker says so, the origin and the sites'
WAN fetchers show it) and not complete; then the background one completes
and nothing is held any more. Order and states, not timings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.core import lifecycle
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.testing.deployment import Deployment, sha256, write_random
from salt_p2pdist.testing.waiting import wait_for

MINIONS = ("m1", "m2", "m3", "m4")


def agent(deployment: Deployment, minion: str) -> AgentClient:
    return AgentClient(deployment.minion_root(minion) / "cache" / "p2pdist", minion)


def origin(deployment: Deployment) -> AgentClient:
    return AgentClient(deployment.root / "master" / "cache" / "p2pdist" / "origin", "origin")


def on(deployment: Deployment, minion: str, dist_id: str) -> dict[str, Any]:
    try:
        return dict(agent(deployment, minion).call("GET", f"/dists/{dist_id}"))
    except P2PDistError:  # not ordered yet
        return {}


def complete(deployment: Deployment, dist_id: str) -> bool:
    return all(lifecycle.is_complete(str(on(deployment, m, dist_id).get("state"))) for m in MINIONS)


def test_an_urgent_push_completes_first_while_the_background_one_is_held_back(
        deployment: Deployment, srv: Path) -> None:
    weekly = write_random(srv / "weekly.img", 40 << 20, seed=61)
    fix = write_random(srv / "fix.bin", 8 << 20, seed=62)
    ret = deployment.salt_run("p2pdist.push", str(weekly), timeout=300, kwargs={
        "tgt": "m*", "dest": "/opt/weekly", "priority": "background"})
    assert ret["result"] is True and ret["priority"] == "background", ret
    background = ret["id"]
    size = weekly.stat().st_size
    wait_for("the background distribution under way", lambda: 0 < max(
        int(on(deployment, m, background).get("bytes_done") or 0) for m in MINIONS) < size // 2,
        timeout=60, every=0.2)
    ret = deployment.salt_run("p2pdist.push", str(fix), timeout=300, kwargs={
        "tgt": "m*", "dest": "/opt/fix", "priority": "urgent"})
    assert ret["result"] is True and ret["priority"] == "urgent", ret
    urgent = ret["id"]
    held_where: dict[str, str] = {}  # site (or "origin") -> what the background yielded to
    held_agents: set[str] = set()

    def urgent_done() -> bool:
        held_where.update(origin(deployment).call("GET", f"/swarms/{background}")["held_back"])
        for m in MINIONS:
            if on(deployment, m, background).get("held_back_by") == urgent:
                held_agents.add(m)
        return complete(deployment, urgent)

    wait_for("the urgent distribution everywhere", urgent_done, timeout=180, every=0.3)
    # The background one did not finish meanwhile: it was held back, on the origin's
    # uplink and at each site's WAN fetcher, for the urgent one.
    assert not complete(deployment, background)
    assert set(held_where.values()) == {urgent} and "origin" in held_where, held_where
    assert {"paris", "lyon"} & set(held_where), held_where
    assert held_agents, "no WAN fetcher showed the background distribution held back"
    status = deployment.salt_run("p2pdist.status", background)
    assert status["distribution"]["priority"] == "background", status["distribution"]
    # Background uses what is left: with the urgent one done it runs again and completes.
    wait_for("the background distribution everywhere", lambda: complete(deployment, background),
             timeout=300, every=1)
    for m in MINIONS:
        assert sha256(deployment.copy_at(m, "/opt/fix", fix.name)) == sha256(fix)
        assert sha256(deployment.copy_at(m, "/opt/weekly", weekly.name)) == sha256(weekly)
    assert origin(deployment).call("GET", f"/swarms/{background}")["held_back"] == {}


def test_the_priority_runner_reaches_the_tracker_and_the_agents_and_is_audited(
        deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "patch.bin", 1 << 20, seed=63)
    ret = deployment.salt_run("p2pdist.push", str(payload), timeout=300, kwargs={
        "tgt": "m1,m3", "tgt_type": "list", "dest": "/opt/patch", "wait": True})
    assert ret["result"] is True and ret["priority"] == "normal", ret
    dist_id = ret["id"]
    bad = deployment.salt_run("p2pdist.priority", dist_id, "soonish")
    assert bad["result"] is False and "urgent, normal, background" in bad["error"], bad
    changed = deployment.salt_run("p2pdist.priority", dist_id, "background")
    assert changed["result"] is True and (changed["was"], changed["priority"]) == ("normal", "background")
    assert changed["tracker"] == "told" and changed["minions_told"] == 2, changed
    assert origin(deployment).call("GET", f"/swarms/{dist_id}")["priority"] == "background"
    assert origin(deployment).call("GET", f"/dists/{dist_id}")["priority"] == "background"
    wait_for("the targets' records", lambda: all(
        on(deployment, m, dist_id).get("priority") == "background" for m in ("m1", "m3")),
        timeout=60, every=0.5)
    listed = deployment.salt_run("p2pdist.status")
    assert listed[dist_id]["priority"] == "background", listed[dist_id]
    audit = (deployment.root / "master" / "cache" / "p2pdist" / "audit.log").read_text()
    assert '"action": "priority"' in audit and '"was": "normal"' in audit
