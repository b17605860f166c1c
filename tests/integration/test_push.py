"""Push files and directories through a real master, minions and libtorrent."""

from __future__ import annotations

from pathlib import Path

from salt_p2pdist.testing.deployment import Deployment, sha256, write_random

MINIONS = ["m1", "m2", "m3", "m4"]  # started by conftest.deployment


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


def test_push_a_file_peers_serve_each_other(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "app-2.3.tar", 12 << 20, seed=1)
    ret = deployment.salt_run("p2pdist.push", str(payload), timeout=300,
                              kwargs={"tgt": "m*", "dest": "/opt/dist", "wait": True})
    assert ret["result"] is True, ret
    assert ret["accepted"] == MINIONS
    summary = ret["summary"]
    assert summary["state"] == "complete" and summary["done"] == len(MINIONS)
    for minion in MINIONS:
        assert sha256(deployment.copy_at(minion, "/opt/dist", payload.name)) == sha256(payload)
    # The master seeded less than the minions received: peers served each other.
    status = deployment.salt_run("p2pdist.status", ret["id"])
    d = status["distribution"]
    # Every minion holds a full copy, yet the master served well under that.
    assert 0 < d["served_by_master"] < 0.75 * len(MINIONS) * payload.stat().st_size, d
    uploads = {m: h["uploaded"] for m, h in status["minions"].items()}
    assert sum(uploads.values()) > 0, uploads
    # Nothing half-written or staged is left behind.
    for minion in MINIONS:
        assert not list(deployment.copy_at(minion, "/opt/dist", "").glob(".*partial*"))


def test_push_a_directory(deployment: Deployment, srv: Path) -> None:
    tree = srv / "release"
    write_random(tree / "bin" / "tool", 3 << 20, seed=2)
    write_random(tree / "share" / "doc" / "README", 5000, seed=3)
    write_random(tree / "lib" / "one" / "only.so", 70000, seed=4)  # a one-file directory
    ret = deployment.salt_run("p2pdist.push", str(tree), timeout=300,
                              kwargs={"tgt": "m1,m2", "tgt_type": "list", "dest": "/opt/rel",
                                      "wait": True})
    assert ret["result"] is True, ret
    for minion in ("m1", "m2"):
        assert tree_digest(deployment.copy_at(minion, "/opt/rel", "release")) == tree_digest(tree)
    assert not deployment.copy_at("m3", "/opt/rel", "release").exists()


def test_minion_status_and_json(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "small.bin", 300_000, seed=5)
    ret = deployment.salt_run("p2pdist.push", str(payload),
                              kwargs={"tgt": "m3", "dest": "/opt/small", "wait": True})
    held = deployment.salt("m3", "p2pdist.status")["m3"]
    assert held[ret["id"]]["state"] == "seeding"
    assert held[ret["id"]]["dest"].endswith("/opt/small")
    listing = deployment.salt_run("p2pdist.status")
    assert ret["id"] in listing and listing[ret["id"]]["state"] == "complete", listing
    assert (listing[ret["id"]]["done"], listing[ret["id"]]["targets"]) == (1, 1), listing


def test_push_a_tree_whose_torrent_is_too_big_for_an_order(deployment: Deployment, srv: Path) -> None:
    """The order names the torrent (info hash, digest, CA); minions fetch it from the tracker."""
    from salt_p2pdist.master.orders import INLINE_TORRENT_MAX

    tree = srv / "many"
    for i in range(400):
        write_random(tree / f"d{i // 100}" / f"f{i:03d}.txt", 200 + i, seed=100 + i)
    ret = deployment.salt_run("p2pdist.push", str(tree), timeout=300,
                              kwargs={"tgt": "m1,m2", "tgt_type": "list", "dest": "/opt/many", "wait": True})
    assert ret["result"] is True, ret
    assert ret["accepted"] == ["m1", "m2"]
    files = Path(deployment.master_opts["file_roots"]["base"][0])
    torrent = files / str(ret["torrent"]).removeprefix("salt://")
    assert torrent.stat().st_size > INLINE_TORRENT_MAX  # so the order named it
    for minion in ("m1", "m2"):
        assert tree_digest(deployment.copy_at(minion, "/opt/many", "many")) == tree_digest(tree)
