"""The master's status tells the truth, on real daemons (docs/architecture.md, "The status rule").

Each test is a workflow in which status used to overstate, or a command
used to misreport, on a live master with four minions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from salt_p2pdist.testing.deployment import Deployment, sha256, write_random
from salt_p2pdist.testing.saltcli import kwarg_strings, parse_json
from salt_p2pdist.testing.waiting import wait_for

ALL = "m1,m2,m3,m4"


def run(deployment: Deployment, fun: str, *args: str, **kwargs: Any) -> tuple[Any, int]:
    """salt-run with JSON output: (its return, its exit code)."""
    proc = deployment.cli("salt-run", "--out", "json", fun, *args, *kwarg_strings(kwargs), timeout=300)
    return parse_json(proc), proc.returncode


def view(deployment: Deployment, dist_id: str) -> dict[str, Any]:
    return dict(deployment.salt_run("p2pdist.status", dist_id))


def host_states(deployment: Deployment, dist_id: str) -> dict[str, str]:
    return {m: h["state"] for m, h in view(deployment, dist_id)["minions"].items()}


def write_sls(deployment: Deployment, name: str, body: dict[str, Any]) -> None:
    sls = Path(deployment.master_opts["file_roots"]["base"][0]) / f"{name}.sls"
    sls.write_text(json.dumps(body))  # JSON is YAML


def test_a_removed_copy_shows_removed_at_once(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "rm.bin", 300_000, seed=61)
    ret, code = run(deployment, "p2pdist.push", str(payload), tgt="m1,m2", tgt_type="list",
                    dest="/opt/truth-rm", wait=True)
    assert code == 0 and ret["summary"]["state"] == "complete", ret
    # By hand on m1, with the p2pdist.absent state on m2.
    assert deployment.salt("m1", "p2pdist.remove", ret["id"])["m1"]["result"] is True
    wait_for("m1 removed", lambda: host_states(deployment, ret["id"])["m1"] == "removed", timeout=20)
    write_sls(deployment, "truth_rm", {"truth-rm": {"p2pdist.absent": [
        {"torrent": ret["torrent"]}, {"dest": "/opt/truth-rm"}]}})
    (gone,) = deployment.salt("m2", "state.apply", "truth_rm")["m2"].values()
    assert gone["result"] is True, gone
    wait_for("m2 removed", lambda: host_states(deployment, ret["id"])["m2"] == "removed", timeout=20)
    d = view(deployment, ret["id"])["distribution"]
    assert d["done"] == 0 and d["state"] != "complete", d


def test_a_repush_after_cancel_reaches_a_minion_that_was_offline(deployment: Deployment,
                                                                 srv: Path) -> None:
    payload = write_random(srv / "again.bin", 300_000, seed=62)
    first, code = run(deployment, "p2pdist.push", str(payload), tgt=ALL, tgt_type="list",
                      dest="/opt/truth-again", wait=True)
    assert code == 0 and first["summary"]["state"] == "complete", first
    cancelled, code = run(deployment, "p2pdist.cancel", first["id"], purge=True)
    assert code == 0 and cancelled["result"] is True, cancelled
    copy = deployment.copy_at("m4", "/opt/truth-again", "again.bin")
    assert not copy.exists()
    deployment.stop_minion("m4")
    try:
        second, _code = run(deployment, "p2pdist.push", str(payload), tgt=ALL, tgt_type="list",
                            dest="/opt/truth-again")
        assert second["id"] == first["id"] and second["no_answer"] == ["m4"], second
        # m1..m3 fetch again; m4 stays pending (ordered, not answered), never done.
        wait_for("m1..m3 seeding", lambda: [s for m, s in sorted(host_states(
            deployment, second["id"]).items()) if m != "m4"] == ["seeding"] * 3, timeout=60)
        v = view(deployment, second["id"])
        assert v["minions"]["m4"]["state"] == "pending", v["minions"]["m4"]
        assert v["distribution"]["state"] == "active", v["distribution"]
    finally:
        deployment.start_minion(deployment.minion("m4", 4))
    # Back online, m4 gets the order it did not answer.
    wait_for("m4's copy", copy.exists, timeout=60)
    assert sha256(copy) == sha256(payload)
    d = wait_for("complete", lambda: (lambda d: d if d["state"] == "complete" else None)(
        view(deployment, first["id"])["distribution"]), timeout=60)
    assert (d["done"], d["targets"]) == (4, 4)


def test_a_forced_repush_is_judged_on_its_own_answers(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "forced.bin", 300_000, seed=63)
    clash = deployment.copy_at("m1", "/opt/truth-force", "forced.bin")
    clash.parent.mkdir(parents=True, exist_ok=True)
    clash.write_bytes(b"an older file")
    first, code = run(deployment, "p2pdist.push", str(payload), tgt="m1,m2", tgt_type="list",
                      dest="/opt/truth-force")
    assert code != 0 and list(first["refused"]) == ["m1"], first
    # m1 reports every 10 s, as a minion with a longer report_interval would: the
    # forced push's wait must not judge m1 by its refusal of the first push.
    slower = deployment.salt("m1", "beacons.modify", "p2pdist", '[{"interval": 10}]')["m1"]
    assert slower["result"] is True, slower
    second, code = run(deployment, "p2pdist.push", str(payload), tgt="m1,m2", tgt_type="list",
                       dest="/opt/truth-force", force=True, wait=True)
    assert second["summary"]["state"] == "complete", second
    assert code == 0 and second["result"] is True, second
    assert sha256(clash) == sha256(payload)


def test_the_same_content_to_another_dest_is_refused_and_nothing_changes(deployment: Deployment,
                                                                         srv: Path) -> None:
    payload = write_random(srv / "moved.bin", 200_000, seed=64)
    first, code = run(deployment, "p2pdist.push", str(payload), tgt="m1", dest="/opt/truth-a",
                      wait=True)
    assert code == 0 and first["summary"]["state"] == "complete", first
    before = view(deployment, first["id"])
    moved, code = run(deployment, "p2pdist.push", str(payload), tgt="m1", dest="/opt/truth-b")
    assert code != 0 and moved["result"] is False, moved
    assert "/opt/truth-a" in moved["error"] and "cancel" in moved["error"], moved
    after = view(deployment, first["id"])
    assert after["distribution"]["dest"] == "/opt/truth-a"
    assert after["minions"]["m1"]["state"] == "seeding", after["minions"]["m1"]
    assert after["distribution"]["state"] == before["distribution"]["state"] == "complete"
    assert not deployment.copy_at("m1", "/opt/truth-b", "moved.bin").exists()


def test_stop_seeding_twice_keeps_the_swarm(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "twice.bin", 1 << 20, seed=65)
    ret, code = run(deployment, "p2pdist.push", str(payload), tgt="m1", dest="/opt/truth-twice",
                    allow="m2", wait=True)
    assert code == 0, ret
    for _ in range(2):
        stopped, code = run(deployment, "p2pdist.stop_seeding", ret["id"])
        assert code == 0 and stopped["result"] is True, stopped
    # A latecomer still joins the swarm and fetches from m1.
    write_sls(deployment, "truth_twice", {"truth-twice": {"p2pdist.present": [
        {"torrent": ret["torrent"]}, {"dest": "/opt/truth-twice"}, {"timeout": 60}]}})
    (late,) = deployment.salt("m2", "state.apply", "truth_twice", timeout=120)["m2"].values()
    assert late["result"] is True, late
    assert sha256(deployment.copy_at("m2", "/opt/truth-twice", "twice.bin")) == sha256(payload)


def test_cancel_what_is_gone_succeeds_and_an_unreachable_minion_fails(deployment: Deployment,
                                                                     srv: Path) -> None:
    payload = write_random(srv / "gone.bin", 200_000, seed=66)
    ret, code = run(deployment, "p2pdist.push", str(payload), tgt="m1,m2", tgt_type="list",
                    dest="/opt/truth-gone", wait=True)
    assert code == 0, ret
    removed = deployment.salt("m1,m2", "p2pdist.remove", ret["id"], tgt_type="list")
    assert all(r["result"] is True for r in removed.values()), removed
    cancelled, code = run(deployment, "p2pdist.cancel", ret["id"])
    assert code == 0 and cancelled["result"] is True, cancelled
    assert all(r["result"] is True for r in cancelled["minions"].values()), cancelled

    again, code = run(deployment, "p2pdist.push", str(payload), tgt="m3,m4", tgt_type="list",
                      dest="/opt/truth-gone", wait=True)
    assert code == 0, again
    deployment.stop_minion("m4")
    try:
        cancelled, code = run(deployment, "p2pdist.cancel", ret["id"])
        assert code != 0 and cancelled["result"] is False, cancelled
        assert cancelled["no_answer"] == ["m4"], cancelled
    finally:
        deployment.start_minion(deployment.minion("m4", 4))
    # Once m4 is back, cancelling again reaches it.
    cancelled, code = run(deployment, "p2pdist.cancel", ret["id"])
    assert code == 0 and cancelled["result"] is True, cancelled
    assert ret["id"] not in deployment.salt("m4", "p2pdist.status")["m4"]
