"""Transfers that survive kills, departures, corrupt peers, offline minions; cancel."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest

from salt_p2pdist.testing.deployment import Deployment, sha256, write_random
from salt_p2pdist.testing.waiting import WaitTimeout, wait_for


def minion_status(deployment: Deployment, minion: str, dist_id: str) -> dict[str, Any]:
    ret = deployment.salt(minion, "p2pdist.status", dist_id)[minion]
    return ret if isinstance(ret, dict) and "state" in ret else {}


def status_read_again(deployment: Deployment, minion: str, dist_id: str) -> dict[str, Any]:
    """A minion's status, read again if a salt call comes back without it (it did once in CI,
    on a loaded host: not what the callers test); what came back instead is shown as a warning."""
    answers: list[Any] = []

    def read() -> dict[str, Any]:
        answers.append(deployment.salt(minion, "p2pdist.status", dist_id)[minion])
        return answers[-1] if isinstance(answers[-1], dict) and "state" in answers[-1] else {}

    try:
        status = wait_for(f"{minion}'s status", read, timeout=60)
    except WaitTimeout as exc:
        raise AssertionError(f"{exc}; it answered {answers[-3:]!r}") from exc
    if len(answers) > 1:
        warnings.warn(f"{minion}'s status needed {len(answers)} reads; before: {answers[:-1]!r}",
                      stacklevel=2)
    return status


def agent_log_tail(deployment: Deployment, minion: str, lines: int = 40) -> str:
    """The end of a minion agent's log, for failure messages."""
    log = deployment.minion_root(minion) / "cache" / "p2pdist" / "agent.log"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def origin_uploaded(deployment: Deployment, dist_id: str) -> int:
    view = deployment.salt_run("p2pdist.status", dist_id)
    return int(view["distribution"]["served_by_master"] or 0)


def test_minion_killed_mid_download_resumes(deployment: Deployment, srv: Path) -> None:
    # 32 MiB, so the data in flight when the host dies (lost for real and
    # sent again) stays well inside the 10 % budget meant for the resume.
    payload = write_random(srv / "big.bin", 32 << 20, seed=31)
    size = payload.stat().st_size
    ret = deployment.salt_run("p2pdist.push", str(payload),
                              kwargs={"tgt": "m4", "dest": "/opt/resume"})
    assert ret["result"] is True, ret
    wait_for("a quarter downloaded",
             lambda: minion_status(deployment, "m4", ret["id"]).get("bytes_done", 0) > size // 4, timeout=120)
    # The host crashes: salt-minion and the agent are SIGKILLed (no resume
    # data saved), then salt-minion starts again.
    deployment.crash("m4")
    deployment.start_minion(deployment.minion("m4", 4))
    # The minion's schedule restarts the agent, which finds the verified
    # pieces in its staging area and goes on from there.
    wait_for("the copy at dest", lambda: deployment.copy_at("m4", "/opt/resume", "big.bin").exists(),
             timeout=180)
    assert sha256(deployment.copy_at("m4", "/opt/resume", "big.bin")) == sha256(payload)
    # m4 was the only target, so everything it received came from the master.
    served = origin_uploaded(deployment, ret["id"])
    assert served <= 1.10 * size, f"the master served {served / size:.3f} x the size"


def test_swarm_finishes_when_the_master_stops_seeding(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "rollout.bin", 8 << 20, seed=32)
    ret = deployment.salt_run("p2pdist.push", str(payload),
                              kwargs={"tgt": "m*", "dest": "/opt/rollout"})
    assert ret["result"] is True, ret
    # Once one minion holds every piece, the master leaves.
    wait_for("a first complete copy", lambda: any(
        deployment.copy_at(m, "/opt/rollout", "rollout.bin").exists() for m in ret["targets"]), timeout=120)
    assert deployment.salt_run("p2pdist.stop_seeding", ret["id"])["result"] is True
    for m in ret["targets"]:
        copy = deployment.copy_at(m, "/opt/rollout", "rollout.bin")
        wait_for(f"{m}'s copy", copy.exists, timeout=180)
        assert sha256(copy) == sha256(payload)


def test_a_swarm_the_master_left_survives_an_origin_restart(deployment: Deployment,
                                                           srv: Path) -> None:
    payload = write_random(srv / "left.bin", 2 << 20, seed=38)
    deployment.stop_minion("m2")
    try:
        ret = deployment.salt_run("p2pdist.push", str(payload), timeout=120,
                                  kwargs={"tgt": "m1,m2", "tgt_type": "list", "dest": "/opt/left"})
        assert ret["accepted"] == ["m1"], ret
        wait_for("m1's copy", deployment.copy_at("m1", "/opt/left", "left.bin").exists, timeout=120)
        assert deployment.salt_run("p2pdist.stop_seeding", ret["id"])["result"] is True
        # The origin agent (seeder and tracker) dies.
        origin = deployment.root / "master" / "cache" / "p2pdist" / "origin" / "agent.json"
        old_pid = int(json.loads(origin.read_text())["pid"])
        os.kill(old_pid, signal.SIGKILL)
    finally:
        deployment.start_minion(deployment.minion("m2", 2))
    # m2 comes back and gets its order; the master restarts the origin agent,
    # whose tracker still knows the swarm and introduces m2 to m1.
    copy = deployment.copy_at("m2", "/opt/left", "left.bin")
    wait_for("m2's copy from m1", copy.exists, timeout=120)
    assert sha256(copy) == sha256(payload)
    assert int(json.loads(origin.read_text())["pid"]) != old_pid
    assert origin_uploaded(deployment, ret["id"]) <= 1.10 * payload.stat().st_size


def test_master_host_restart_mid_distribution(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "hq.bin", 12 << 20, seed=33)
    ret = deployment.salt_run("p2pdist.push", str(payload),
                              kwargs={"tgt": "m1,m3", "tgt_type": "list", "dest": "/opt/hq"})
    assert ret["result"] is True, ret
    wait_for("some progress", lambda: minion_status(deployment, "m1", ret["id"]).get("bytes_done"),
             timeout=120)
    # The master host goes down: salt-master and the origin agent (seeder and
    # tracker) are killed, then salt-master comes back.
    origin_json = deployment.root / "master" / "cache" / "p2pdist" / "origin" / "agent.json"
    os.kill(int(json.loads(origin_json.read_text())["pid"]), signal.SIGKILL)
    deployment.restart_master(kill=True)
    # Reports flow again; the master's returner restarts the origin agent,
    # which seeds again from its records and serves the tracker again.
    for m in ("m1", "m3"):
        copy = deployment.copy_at(m, "/opt/hq", "hq.bin")
        wait_for(f"{m}'s copy", copy.exists, timeout=180)
        assert sha256(copy) == sha256(payload)
    # The catalog kept the distribution and goes on recording its progress.
    wait_for("both done in the master's status", lambda: deployment.salt_run(
        "p2pdist.status", ret["id"])["distribution"]["done"] == 2, timeout=60)


def test_a_corrupt_peer_cannot_spoil_the_copy(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "clean.bin", 4 << 20, seed=34)
    first = deployment.salt_run("p2pdist.push", str(payload),
                                kwargs={"tgt": "m1", "dest": "/opt/clean", "wait": True})
    assert first["result"] is True, first
    # m1's copy rots on disk; m1 keeps seeding it, bad pieces and all.
    bad = deployment.copy_at("m1", "/opt/clean", "clean.bin")
    with bad.open("r+b") as fh:
        for offset in range(0, 4 << 20, 256 << 10):
            fh.seek(offset)
            fh.write(b"\xff" * 4096)
    ret = deployment.salt_run("p2pdist.push", str(payload), timeout=300,
                              kwargs={"tgt": "m2", "dest": "/opt/clean", "wait": True,
                                      "timeout": 90})
    assert ret["result"] is True, (ret.get("summary"), minion_status(deployment, "m2", ret["id"]),
                                   agent_log_tail(deployment, "m2"))
    assert sha256(deployment.copy_at("m2", "/opt/clean", "clean.bin")) == sha256(payload)
    # m2 got pieces from m1 (same site, fast), they failed their hash, were
    # fetched again elsewhere, and m1 is blocked on m2 for good.
    st = status_read_again(deployment, "m2", ret["id"])
    assert st["state"] == "seeding" and st["failed_bytes"] > 0, st
    assert st["banned"] == ["127.0.0.11"], st  # m1 (conftest.SITES)


def test_an_agent_that_dies_alone_is_started_again_within_seconds(deployment: Deployment,
                                                                   srv: Path) -> None:
    payload = write_random(srv / "alive.bin", 1 << 20, seed=38)
    ret = deployment.salt_run("p2pdist.push", str(payload),
                              kwargs={"tgt": "m2", "dest": "/opt/alive", "wait": True})
    assert ret["result"] is True, ret
    # The agent crashes; salt-minion runs on. Its report beacon finds the agent down and has
    # the minion start it at once (the keepalive schedule alone would take up to 5 minutes).
    endpoint = deployment.minion_root("m2") / "cache" / "p2pdist" / "agent.json"
    dead = int(json.loads(endpoint.read_text())["pid"])
    os.kill(dead, signal.SIGKILL)

    def back() -> bool:
        try:
            pid = int(json.loads(endpoint.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return False
        return pid != dead and minion_status(deployment, "m2", ret["id"]).get("state") == "seeding"

    wait_for("m2's agent started again, seeding", back, timeout=40)


def test_an_offline_minion_gets_its_order_when_it_returns(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "late.bin", 1 << 20, seed=35)
    deployment.stop_minion("m4")
    try:
        ret = deployment.salt_run("p2pdist.push", str(payload), timeout=120,
                                  kwargs={"tgt": "m3,m4", "tgt_type": "list", "dest": "/opt/late"})
        assert ret["no_answer"] == ["m4"] and ret["accepted"] == ["m3"], ret
        view = deployment.salt_run("p2pdist.status", ret["id"])
        assert view["minions"]["m4"]["state"] == "pending"  # not failed
    finally:
        deployment.start_minion(deployment.minion("m4", 4))
    copy = deployment.copy_at("m4", "/opt/late", "late.bin")
    wait_for("m4's copy after it came back", copy.exists, timeout=120)
    assert sha256(copy) == sha256(payload)


def test_cancel_stops_everywhere_and_keeps_completed_copies(deployment: Deployment,
                                                            srv: Path) -> None:
    small = write_random(srv / "kept.bin", 200_000, seed=36)
    done = deployment.salt_run("p2pdist.push", str(small),
                               kwargs={"tgt": "m1", "dest": "/opt/cancel", "wait": True})
    big = write_random(srv / "partial.bin", 32 << 20, seed=37)
    running = deployment.salt_run("p2pdist.push", str(big),
                                  kwargs={"tgt": "m3,m4", "tgt_type": "list", "dest": "/opt/cancel"})
    assert running["result"] is True, running
    wait_for("some progress", lambda: minion_status(deployment, "m3", running["id"]).get("bytes_done"),
             timeout=120)
    cancelled = deployment.salt_run("p2pdist.cancel", running["id"])
    assert cancelled["result"] is True, cancelled
    for m in ("m3", "m4"):
        assert running["id"] not in deployment.salt(m, "p2pdist.status")[m]
        staging = deployment.minion_root(m) / "cache" / "p2pdist" / "staging" / running["id"]
        assert not staging.exists()
        assert not deployment.copy_at(m, "/opt/cancel", "partial.bin").exists()
    # A completed copy stays unless purge=True.
    assert deployment.salt_run("p2pdist.cancel", done["id"])["result"] is True
    assert deployment.copy_at("m1", "/opt/cancel", "kept.bin").exists()
    again = deployment.salt_run("p2pdist.push", str(small),
                                kwargs={"tgt": "m1", "dest": "/opt/cancel", "wait": True})
    assert deployment.salt_run("p2pdist.cancel", again["id"], kwargs={"purge": True})["result"]
    assert not deployment.copy_at("m1", "/opt/cancel", "kept.bin").exists()


def test_disk_full_on_one_minion_fails_there_only(deployment: Deployment, srv: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("a small filesystem for one minion needs root (mount tmpfs)")
    # m4's staging area becomes a 2 MiB filesystem; the distribution is 8 MiB.
    staging = deployment.minion_root("m4") / "cache" / "p2pdist" / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "p2pdist-test", str(staging)],
                   check=True)
    try:
        mine = deployment.copy_at("m4", "/opt/full", "mine.txt")
        mine.parent.mkdir(parents=True, exist_ok=True)
        mine.write_text("already here")
        payload = write_random(srv / "full.bin", 8 << 20, seed=42)
        ret = deployment.salt_run("p2pdist.push", str(payload),
                                  kwargs={"tgt": "m3,m4", "tgt_type": "list", "dest": "/opt/full"})
        # m4 refuses at once, before downloading anything (its staging cannot hold it).
        assert ret["result"] is False and "m4" in ret["refused"], ret
        assert "not enough disk space" in ret["refused"]["m4"] and str(staging) in ret["refused"]["m4"], ret
        assert "m3" in ret["accepted"], ret
        # The other target is unaffected; nothing at m4's dest was touched.
        copy = deployment.copy_at("m3", "/opt/full", "full.bin")
        wait_for("m3's copy", copy.exists, timeout=120)
        assert sha256(copy) == sha256(payload)
        assert mine.read_text() == "already here"
        assert not deployment.copy_at("m4", "/opt/full", "full.bin").exists()
        assert list(staging.iterdir()) == []
        # The master's status shows the refusal and its reason.
        wait_for("the reason in the master's status", lambda: "space" in json.dumps(
            deployment.salt_run("p2pdist.status", ret["id"])).lower(), timeout=60)
        assert deployment.salt_run("p2pdist.cancel", ret["id"])["result"] is True
    finally:
        subprocess.run(["umount", "-l", str(staging)], check=False)
