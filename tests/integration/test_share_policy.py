"""Central share policy from pillar, applied on the fly by real minions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from salt_p2pdist.testing.deployment import Deployment, sha256, write_random
from salt_p2pdist.testing.waiting import wait_for
from salt_p2pdist.tracker.wanshare import TRICKLE


def set_pillar(deployment: Deployment, minion: str, policy: dict | None, **section: object) -> None:
    """Pillar ``p2pdist`` for ``minion`` (a list target like "m1,m2" too); None clears it."""
    root = Path(deployment.master_opts["pillar_roots"]["base"][0])
    top = ({"base": {minion: [{"match": "list"}, "p2pdist_policy"]}} if policy is not None
           else {"base": {}})
    (root / "top.sls").write_text(json.dumps(top))
    (root / "p2pdist_policy.sls").write_text(json.dumps({"p2pdist": {"policy": policy or {}, **section}}))
    deployment.salt(minion, "saltutil.refresh_pillar", tgt_type="list", kwargs={"wait": True})


@pytest.fixture
def m2_policy(deployment: Deployment) -> Iterator[None]:
    yield
    set_pillar(deployment, "m2", None)  # other tests share these minions
    deployment.salt_run("p2pdist.policy", "m2")


def test_upload_false_minion_downloads_but_never_uploads(deployment: Deployment, srv: Path,
                                                         m2_policy: None) -> None:
    set_pillar(deployment, "m2", {"upload": False})
    shown = deployment.salt_run("p2pdist.policy", "m2")["m2"]
    assert shown["in_force"]["upload_mode"] == {"value": "none",
                                                "source": "pillar p2pdist:policy:upload"}
    payload = write_random(srv / "meter.bin", 4 << 20, seed=41)
    ret = deployment.salt_run("p2pdist.push", str(payload), timeout=300,
                              kwargs={"tgt": "m1,m2", "tgt_type": "list", "dest": "/opt/meter",
                                      "wait": True})
    assert ret["result"] is True, ret
    assert sha256(deployment.copy_at("m2", "/opt/meter", "meter.bin")) == sha256(payload)
    held = deployment.salt("m1,m2", "p2pdist.status", ret["id"], tgt_type="list")
    assert held["m2"]["uploaded"] == 0, held["m2"]  # m1 was in the swarm all along


def test_invalid_policy_is_refused_and_the_last_valid_stays(deployment: Deployment,
                                                           m2_policy: None) -> None:
    set_pillar(deployment, "m2", {"upload": "site", "upload_rate": "2MB"})
    assert deployment.salt_run("p2pdist.policy", "m2")["m2"]["in_force"]["upload_rate"]["value"] \
        == 2_000_000
    set_pillar(deployment, "m2", {"upload": "sometimes", "upload_rate": -5, "colour": "blue"})
    shown = deployment.salt_run("p2pdist.policy", "m2")["m2"]
    assert shown["result"] is False
    for problem in ("upload", "upload_rate", "colour"):
        assert problem in shown["error"], shown["error"]
    assert shown["in_force"]["upload_mode"]["value"] == "site"  # the last valid policy
    assert shown["in_force"]["upload_rate"]["value"] == 2_000_000
    # Both the change that took effect and the refused one are in the audit log.
    log = deployment.root / "master" / "cache" / "p2pdist" / "audit.log"

    def policy_entries() -> list[dict]:
        lines = log.read_text().splitlines() if log.exists() else []
        return [e for e in map(json.loads, lines)
                if e["action"] == "policy" and e["details"]["minion"] == "m2"]

    wait_for("the refused policy in the audit log", lambda: any(
        e["result"].startswith("refused") for e in policy_entries()), timeout=30)
    entries = policy_entries()
    assert any(e["result"] == "applied" and e["details"]["policy"] == {
        "upload": "site", "upload_rate": "2MB"} for e in entries), entries
    refused = [e for e in entries if e["result"].startswith("refused")]
    assert len(refused) == 1 and "colour" in refused[0]["result"], entries
    assert refused[0]["user"] == "pillar p2pdist:policy"


@pytest.fixture
def paris_capped(deployment: Deployment) -> Iterator[None]:
    yield
    set_pillar(deployment, "m1,m2", None)
    for m in ("m1", "m2"):
        deployment.salt_run("p2pdist.policy", m)


def test_a_sites_wan_rate_is_split_among_its_hosts_on_the_wan(deployment: Deployment, srv: Path,
                                                              paris_capped: None) -> None:
    sites = dict(deployment.master_opts["p2pdist"]["sites"])  # the same map as the master's
    sites["paris"] = {**sites["paris"], "wan_rate": "2MB"}
    set_pillar(deployment, "m1,m2", {}, sites=sites)
    shown = deployment.salt_run("p2pdist.policy", "m1")["m1"]
    wan = shown["in_force"]["wan_rate"]  # (a part from the tracker, if m1 already had peers)
    assert (wan["value"], wan["source"]) == (2_000_000, "p2pdist:sites:paris:wan_rate"), shown
    payload = write_random(srv / "capped.bin", 6 << 20, seed=43)
    ret = deployment.salt_run("p2pdist.push", str(payload), timeout=300,
                              kwargs={"tgt": "m1,m2,m3,m4", "tgt_type": "list", "dest": "/opt/capped",
                                      "wait": True})
    assert ret["result"] is True, ret
    for m in ("m1", "m2", "m3", "m4"):
        assert sha256(deployment.copy_at(m, "/opt/capped", "capped.bin")) == sha256(payload)
    # Each paris host asked the master's tracker (closed swarm: over TLS, showing its
    # certificate) for its part: the site's hosts on the WAN split the 2 MB/s.
    wan = {m: deployment.salt_run("p2pdist.policy", m)[m]["in_force"]["wan_rate"] for m in ("m1", "m2")}
    assert all("a total for site paris" in w.get("split", "") for w in wan.values()), wan
    hosts = {m: int(w["split"].split(": ")[1].split()[0]) for m, w in wan.items()}
    for m, w in wan.items():  # an even part at most (less while others still hold more)
        on_wan = "not on the WAN" not in w["split"]
        assert (TRICKLE <= w["this_host_now"] <= 2_000_000 // hosts[m] if on_wan
                else w["this_host_now"] == TRICKLE), w
