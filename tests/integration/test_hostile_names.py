"""Hostile torrents on real daemons: refused with nothing written, and salt exits non-zero."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import libtorrent as lt

from salt_p2pdist.testing.deployment import Deployment, write_random
from salt_p2pdist.testing.hostile import leaves, rename, sign_unchecked
from salt_p2pdist.torrent import creation


def _traversal_torrent(deployment: Deployment, srv: Path) -> bytes:
    """A torrent whose files climb out of dest, signed with this deployment's master key."""
    src = srv / "evil"
    (src / "sub").mkdir(parents=True)
    write_random(src / "sub" / "x", 100_000, seed=31)
    write_random(src / "y", 5_000, seed=32)
    tracker = f"http://127.0.0.1:{deployment.tracker_port}/announce"
    good = creation.create(src, tracker)
    x, y = leaves(lt.bdecode(good)[b"info"][b"file tree"])
    evil = rename(good, tree={b"..": {b"..": {b"..": {b"x": x}}}, b"y": y})
    master_key = Path(deployment.master_opts["pki_dir"]) / "master.pem"
    return sign_unchecked(evil, master_key, ["/opt"])


def _nothing_written(deployment: Deployment, minion: str, dest: str) -> None:
    root = deployment.host_root(minion)
    assert not (root / dest.lstrip("/")).exists()
    assert not list(root.rglob("x")), "a file of the hostile torrent was written"
    state = deployment.minion_root(minion) / "cache" / "p2pdist"
    assert not list((state / "staging").glob("*")) if (state / "staging").exists() else True
    held = [o.parent.name for o in (state / "dists").glob("*/order.json")]
    orders = [json.loads((state / "dists" / h / "order.json").read_text()) for h in held]
    assert not [o for o in orders if o.get("name") == "evil"], orders


def test_a_master_signed_traversal_torrent_is_refused_on_every_route(
        deployment: Deployment, srv: Path) -> None:
    evil = _traversal_torrent(deployment, srv)
    encoded = base64.b64encode(evil).decode()

    # A hand-typed fetch, published by the master.
    proc = deployment.cli("salt", "--out", "json", "--timeout", "60", "m1", "p2pdist.fetch",
                          f"torrent={encoded}", "dest=/opt/evil")
    ret = json.loads(proc.stdout)["m1"]
    assert ret["result"] is False, ret
    # The path as the torrent holds it: under the swarm's own name (p2pdist-<hash>).
    assert re.search(r"refused: torrent path '[^'/]+/\.\./\.\./\.\./x'", ret["error"]), ret
    assert proc.returncode != 0
    _nothing_written(deployment, "m1", "/opt/evil")

    # The same on the minion itself.
    proc = deployment.cli("salt-call", "--out", "json", "p2pdist.fetch", f"torrent={encoded}",
                          "dest=/opt/evil", minion_id="m2")
    assert "refused: torrent path" in proc.stdout and proc.returncode != 0, proc.stdout
    _nothing_written(deployment, "m2", "/opt/evil")

    # A state naming the torrent on the master's file server.
    roots = Path(deployment.master_opts["file_roots"]["base"][0])
    (roots / "p2pdist").mkdir(exist_ok=True)
    (roots / "p2pdist" / "evil.torrent").write_bytes(evil)
    (roots / "evil.sls").write_text(json.dumps({"evil": {"p2pdist.present": [
        {"torrent": "salt://p2pdist/evil.torrent"}, {"dest": "/opt/evil"}]}}))
    (state,) = deployment.salt("m3", "state.apply", "evil", timeout=120)["m3"].values()
    assert state["result"] is False and "refused: torrent path" in state["comment"], state
    _nothing_written(deployment, "m3", "/opt/evil")
    status = deployment.salt("m1,m2,m3", "p2pdist.status", tgt_type="list")
    assert not [d for held in status.values() if isinstance(held, dict) for d in held.values()
                if isinstance(d, dict) and d.get("name") == "evil"], status


def test_push_refuses_a_name_no_host_can_hold(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "ev\\il.bin", 50_000, seed=33)
    proc = deployment.cli("salt-run", "--out", "json", "p2pdist.push", str(payload),
                          "tgt=m1", "dest=/opt/backslash")
    ret = json.loads(proc.stdout)
    assert ret["result"] is False and "refused: torrent path" in ret["error"], ret
    assert proc.returncode != 0
    listing = deployment.salt_run("p2pdist.status", check=True)
    assert not [d for d in listing.values() if d.get("name") == payload.name], listing
    assert not (deployment.host_root("m1") / "opt" / "backslash").exists()


def test_salt_exits_non_zero_on_a_refused_fetch(deployment: Deployment, srv: Path) -> None:
    """``salt`` and ``salt-call`` exit non-zero when the minion refuses; ``salt --static`` cannot.

    Salt 3008's ``--static`` runs through its batch code, which drops every
    job's retcode and exits 0: scripts using it must read ``result``.
    """
    payload = write_random(srv / "foreign.bin", 50_000, seed=34)
    unsigned = base64.b64encode(creation.create(payload, "http://127.0.0.1:1/announce")).decode()
    args = ("p2pdist.fetch", f"torrent={unsigned}", "dest=/opt/foreign")
    plain = deployment.cli("salt", "--out", "json", "--timeout", "60", "m1", *args)
    static = deployment.cli("salt", "--out", "json", "--static", "--timeout", "60", "m1", *args)
    local = deployment.cli("salt-call", "--out", "json", *args, minion_id="m1")
    for proc in (plain, static, local):
        assert "not signed by a p2pdist master" in proc.stdout, proc.stdout
        (ret,) = json.loads(proc.stdout).values()
        assert ret["result"] is False
    assert plain.returncode == 1, plain.stderr
    assert local.returncode == 1, local.stderr
    assert static.returncode == 0  # Salt's --static: documented in docs/operations.md


def test_a_push_completes_and_every_secret_on_disk_is_private(deployment: Deployment, srv: Path) -> None:
    """The positive control of the refusals above, and part of 'secrets stay secret'."""
    import stat

    from salt_p2pdist.testing.deployment import sha256

    payload = write_random(srv / "fine.bin", 300_000, seed=35)
    ret = deployment.salt_run("p2pdist.push", str(payload), timeout=300,
                              kwargs={"tgt": "m4", "dest": "/opt/fine", "wait": True})
    assert ret["result"] is True, ret
    assert sha256(deployment.copy_at("m4", "/opt/fine", "fine.bin")) == sha256(payload)

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    minion_state = deployment.minion_root("m4") / "cache" / "p2pdist"
    master_state = Path(deployment.master_opts["cachedir"]) / "p2pdist"
    secrets = [minion_state / "agent.json", minion_state / "tls.key",
               minion_state / "dists" / ret["id"] / "order.json",
               master_state / "origin" / "tls.key", master_state / "ca" / "ca.key",
               master_state / "origin" / "dists" / ret["id"] / "order.json"]
    for path in secrets:
        assert mode(path) == 0o600, (path, oct(mode(path)))
    for path in (minion_state, master_state / "origin", master_state / "ca"):
        assert mode(path) == 0o700, (path, oct(mode(path)))
    order = json.loads((minion_state / "dists" / ret["id"] / "order.json").read_text())
    assert order.get("tls_cert")  # the host's credentials for the swarm: kept private
