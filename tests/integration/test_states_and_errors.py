"""States, a finished minion that keeps seeding, and bad input, on real daemons."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from salt_p2pdist.testing.deployment import Deployment, sha256, write_random
from salt_p2pdist.torrent import creation


def write_sls(deployment: Deployment, name: str, body: dict) -> None:
    sls = Path(deployment.master_opts["file_roots"]["base"][0]) / f"{name}.sls"
    sls.write_text(json.dumps(body))  # JSON is YAML


def test_state_present_after_origin_stopped_seeding(deployment: Deployment, srv: Path) -> None:
    """A latecomer fetches from finished minions alone: they keep seeding."""
    payload = write_random(srv / "kit.bin", 6 << 20, seed=11)
    ret = deployment.salt_run("p2pdist.push", str(payload), timeout=300,
                              kwargs={"tgt": "m1,m2", "tgt_type": "list", "dest": "/opt/kit",
                                      "allow": "m3", "allow_type": "list", "wait": True})
    assert ret["result"] is True, ret
    assert ret["torrent"] == f"salt://p2pdist/{ret['id']}/kit.bin.torrent"
    assert deployment.salt_run("p2pdist.stop_seeding", ret["id"])["result"] is True

    write_sls(deployment, "kit", {"kit": {"p2pdist.present": [
        {"torrent": ret["torrent"]}, {"dest": "/opt/kit"}, {"timeout": 120}]}})
    copy = deployment.copy_at("m3", "/opt/kit", "kit.bin")

    dry = deployment.salt("m3", "state.apply", "kit", kwargs={"test": True}, timeout=120)["m3"]
    (dry_state,) = dry.values()
    assert dry_state["result"] is None and "would fetch" in dry_state["comment"]
    assert not copy.exists()

    first = deployment.salt("m3", "state.apply", "kit", timeout=180)["m3"]
    (first_state,) = first.values()
    assert first_state["result"] is True, first_state
    assert first_state["changes"]["dist_id"] == ret["id"]
    assert sha256(copy) == sha256(payload)

    second = deployment.salt("m3", "state.apply", "kit", timeout=120)["m3"]
    (second_state,) = second.values()
    assert second_state["result"] is True and second_state["changes"] == {}

    # The master served nothing after stop_seeding: m3's bytes came from m1 and m2.
    held = deployment.salt("m1,m2", "p2pdist.status", ret["id"], tgt_type="list")
    assert sum(h["uploaded"] for h in held.values()) >= payload.stat().st_size


def test_state_absent(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "old.bin", 200_000, seed=12)
    ret = deployment.salt_run("p2pdist.push", str(payload),
                              kwargs={"tgt": "m2", "dest": "/opt/old", "wait": True})
    write_sls(deployment, "old", {"old": {"p2pdist.absent": [
        {"torrent": ret["torrent"]}, {"dest": "/opt/old"}]}})
    copy = deployment.copy_at("m2", "/opt/old", "old.bin")
    assert copy.exists()
    (dry,) = deployment.salt("m2", "state.apply", "old", kwargs={"test": True})["m2"].values()
    assert dry["result"] is None and copy.exists()
    (gone,) = deployment.salt("m2", "state.apply", "old")["m2"].values()
    assert gone["result"] is True and gone["changes"]["removed"] == ["old.bin"]
    assert not copy.exists() and ret["id"] not in deployment.salt("m2", "p2pdist.status")["m2"]
    (again,) = deployment.salt("m2", "state.apply", "old")["m2"].values()
    assert again["result"] is True and again["changes"] == {}


def refused(deployment: Deployment, *args: str, **kwargs: object) -> str:
    proc = deployment.cli("salt-run", "--out", "json", "p2pdist.push", *args,
                          *[f"{k}={v}" for k, v in kwargs.items()])
    data = json.loads(proc.stdout)
    assert data["result"] is False, data
    assert proc.returncode != 0  # scripts can rely on the exit code
    return str(data.get("error") or data.get("refused"))


def test_bad_input_gets_a_clear_error(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "x.bin", 100_000, seed=13)
    before = deployment.salt_run("p2pdist.status")
    assert "does not exist" in refused(deployment, str(srv / "nope.bin"), tgt="*", dest="/opt/x")
    assert "matches no minion" in refused(deployment, str(payload), tgt="nosuch*", dest="/opt/x")
    assert "absolute" in refused(deployment, str(payload), tgt="*", dest="opt/x")
    assert "dest is required" in refused(deployment, str(payload), tgt="*")
    assert "'..'" in refused(deployment, str(payload), tgt="*", dest="/opt/../etc")
    assert "absolute" in refused(deployment, "x.bin", tgt="*", dest="/opt/x")
    # p2pdist:allowed_dest is ["/opt"] in this deployment.
    assert "outside the allowed roots /opt" in refused(deployment, str(payload), tgt="*", dest="/etc/x")
    assert deployment.salt_run("p2pdist.status") == before  # nothing recorded

    unrelated = deployment.copy_at("m1", "/opt/clash", "x.bin")
    unrelated.parent.mkdir(parents=True)
    unrelated.write_bytes(b"someone else's file")
    error = refused(deployment, str(payload), tgt="m1", dest="/opt/clash")
    assert "refusing to overwrite" in error
    assert unrelated.read_bytes() == b"someone else's file"

    proc = deployment.cli("salt-run", "--out", "json", "p2pdist.status", "0123456789abcdef")
    assert "no distribution" in json.loads(proc.stdout)["error"]
    assert proc.returncode != 0


def test_minions_refuse_symlink_escapes_and_foreign_torrents(deployment: Deployment,
                                                            srv: Path) -> None:
    payload = write_random(srv / "esc.bin", 100_000, seed=14)
    # On m1, /opt/esc is a symlink to a directory outside the allowed root:
    # only the minion can see that, and it refuses before writing anything.
    outside = deployment.host_root("m1") / "etc"
    outside.mkdir(parents=True, exist_ok=True)
    link = deployment.host_root("m1") / "opt" / "esc"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    error = refused(deployment, str(payload), tgt="m1", dest="/opt/esc")
    assert "outside the allowed roots" in error and "symlink" in error, error
    assert list(outside.iterdir()) == []
    # A torrent this master did not sign (made by anyone with libtorrent) is
    # refused by the minion itself, whoever hands it over.
    foreign = base64.b64encode(creation.create(payload, "http://127.0.0.1:1/announce")).decode()
    ret = deployment.salt("m1", "p2pdist.fetch", kwargs={"torrent": foreign, "dest": "/opt/foreign"})
    assert ret["m1"]["result"] is False and "not signed" in ret["m1"]["error"], ret
    assert not (deployment.host_root("m1") / "opt" / "foreign").exists()


def test_dests_are_checked_with_the_rules_of_their_os(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "os.bin", 100_000, seed=41)
    before = deployment.salt_run("p2pdist.status")
    # Windows dests on this Linux master: Windows rules, not "not absolute".
    assert "device name" in refused(deployment, str(payload), tgt="m1", dest="C:\\opt\\CON")
    # p2pdist:allowed_dest is ["/opt"]: no root for Windows minions.
    assert "none for windows" in refused(deployment, str(payload), tgt="m1", dest="D:/opt/x")
    assert deployment.salt_run("p2pdist.status") == before  # nothing recorded
    # A dest per OS: the Linux minion takes its own.
    ret = deployment.salt_run("p2pdist.push", str(payload), kwargs={
        "tgt": "m1", "dest": {"posix": "/opt/peros"}, "wait": True})
    assert ret["result"] is True, ret
    assert ret["dest"] == "/opt/peros"
    assert sha256(deployment.copy_at("m1", "/opt/peros", "os.bin")) == sha256(payload)
