"""Admission: only the hosts the master admitted get a distribution, by any route.

A minion the master accepted but did not target (nor allow) tries everything
Salt and BitTorrent offer it; a certificate one distribution issued is tried
against another distribution of a file with the same name.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import libtorrent as lt
from test_closed_swarm import OUTSIDER_IP, endpoints
from test_states_and_errors import write_sls

from salt_p2pdist.files import audit
from salt_p2pdist.testing.deployment import Deployment, sha256, write_random
from salt_p2pdist.testing.waiting import wait_for
from salt_p2pdist.torrent import swarmca


def audit_entries(deployment: Deployment, action: str, user: str, dist_id: str,
                  wait: float = 30) -> list[dict[str, Any]]:
    """The master's audit entries for ``action`` by ``user`` on ``dist_id`` (waits for them)."""
    log = deployment.root / "master" / "cache" / "p2pdist" / "audit.log"
    return wait_for(f"{action} by {user} on {dist_id} in the audit log", lambda: [
        e for e in audit.read(log, 1000) if e.get("action") == action
        and e.get("user") == user and e.get("details", {}).get("id") == dist_id], timeout=wait)


def request_certificate(deployment: Deployment, minion: str, info_hash: str, tls_key: bytes
                        ) -> tuple[int, dict[str, Any]]:
    """A /cert request signed with ``minion``'s real Salt key, as its agent would send it."""
    when = int(time.time())
    tls_pub = swarmca.public_pem(tls_key)
    salt_key = deployment.minion_root(minion) / "pki" / "minion.pem"
    body = json.dumps({"info_hash": info_hash, "minion": minion, "time": when,
                       "tls_key": tls_pub.decode(), "signature": swarmca.sign(
                           salt_key, swarmca.request_payload(info_hash, minion, tls_pub, when))})
    req = urllib.request.Request(f"https://127.0.0.1:{deployment.tracker_port}/cert",
                                 data=body.encode(), headers={"Content-Type": "application/json"})
    # What the master answers is tested here, not who it is: no server check.
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        with urllib.request.urlopen(req, timeout=15, context=ctx) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def bare_session() -> Any:
    return lt.session(lt.session_params({
        "listen_interfaces": f"{OUTSIDER_IP}:0,{OUTSIDER_IP}:0s", "outgoing_interfaces": OUTSIDER_IP,
        "enable_dht": False, "enable_lsd": False, "allow_multiple_connections_per_ip": True,
        "enable_outgoing_utp": False}))


def try_download(deployment: Deployment, ses: Any, torrent: bytes, save: Path,
                 cert: tuple[str, str] | None, seconds: float = 15) -> Any:
    """Add ``torrent`` to a bare session (with a certificate), knock on every socket; the handle."""
    atp = lt.load_torrent_buffer(torrent)
    atp.save_path = str(save)
    atp.trackers = []  # peers are tried directly: the tracker is not what is tested here
    atp.flags &= ~(lt.torrent_flags.paused | lt.torrent_flags.auto_managed)
    handle = ses.add_torrent(atp)
    if cert is not None:
        handle.set_ssl_certificate_buffer(cert[0], cert[1], "")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for endpoint in endpoints(deployment):
            handle.connect_peer(endpoint)
        time.sleep(1)
    return handle


def master_torrent(deployment: Deployment, ret: dict[str, Any]) -> bytes:
    """The torrent file the push published for states (any minion can read it)."""
    root = Path(deployment.master_opts["file_roots"]["base"][0])
    return (root / str(ret["torrent"]).removeprefix("salt://")).read_bytes()


def salt_call(deployment: Deployment, minion: str, *argv: str) -> Any:
    proc = deployment.cli("salt-call", "--out", "json", *argv, minion_id=minion, timeout=120)
    return json.loads(proc.stdout)["local"], proc.returncode


def test_a_minion_not_admitted_gets_nothing_by_any_route(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "secret.bin", 8 << 20, seed=61)
    ret = deployment.salt_run("p2pdist.push", str(payload), timeout=300,
                              kwargs={"tgt": "m1", "tgt_type": "list", "dest": "/opt/adm1"})
    assert ret["result"] is True, ret
    torrent = master_torrent(deployment, ret)
    info_hash = str(lt.torrent_info(torrent).info_hashes().v2)

    # 1. A certificate request signed with m3's real Salt key: refused, and audited.
    tls_key = swarmca.new_key()
    code, answer = request_certificate(deployment, "m3", info_hash, tls_key)
    cert = (answer["cert"], tls_key.decode()) if code == 200 else None
    ses = bare_session()
    handle = try_download(deployment, ses, torrent, srv / "bare", cert)
    st = handle.status()
    assert (st.total_payload_download, st.num_pieces) == (0, 0), "m3's bare session got data"
    assert code == 403 and "m3 is not a target" in answer["error"], answer
    (cert_entry, *_) = audit_entries(deployment, "certificate", "m3", ret["id"])
    assert cert_entry["result"].startswith("refused")
    # m1, a target, was issued its certificate: in the audit log too.
    assert any(e["result"] == "issued" for e in audit_entries(deployment, "certificate", "m1", ret["id"]))

    # 2. Through Salt alone, on m3 itself: cp.get_file, then p2pdist.fetch.
    cached, _rc = salt_call(deployment, "m3", "cp.cache_file", ret["torrent"])
    assert cached, "any minion can read the published torrent"
    b64 = base64.b64encode(Path(cached).read_bytes()).decode()
    fetched, rc = salt_call(deployment, "m3", "p2pdist.fetch", f"torrent={b64}", "dest=/opt/adm1")
    assert fetched["result"] is False and "m3 is not admitted" in fetched["error"], fetched
    assert rc != 0

    # 3. A state naming the published URL.
    write_sls(deployment, "adm1", {"adm1": {"p2pdist.present": [
        {"torrent": ret["torrent"]}, {"dest": "/opt/adm1"}, {"timeout": 60}]}})
    (state,) = deployment.salt("m3", "state.apply", "adm1", timeout=120)["m3"].values()
    assert state["result"] is False and "m3 is not admitted" in state["comment"], state
    (dry,) = deployment.salt("m3", "state.apply", "adm1", kwargs={"test": True})["m3"].values()
    assert dry["result"] is False and "not admitted" in dry["comment"], dry

    # Nothing was written on m3, nothing is held there, and both refusals are audited.
    assert not deployment.copy_at("m3", "/opt/adm1", "secret.bin").exists()
    assert not (deployment.minion_root("m3") / "cache" / "p2pdist" / "dists" / ret["id"]).exists()
    assert ret["id"] not in (deployment.salt("m3", "p2pdist.status")["m3"] or {})
    wait_for("both refusals of m3 in the audit log", lambda: {
        e["details"]["route"] for e in audit_entries(deployment, "admission", "m3", ret["id"])
    } == {"p2pdist.fetch", "p2pdist.present"}, timeout=30)

    # The target was not disturbed.
    copy = deployment.copy_at("m1", "/opt/adm1", "secret.bin")
    wait_for("m1's copy", copy.exists, timeout=120)
    assert sha256(copy) == sha256(payload)


def test_an_allowed_minion_joins_later_through_a_state(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "later.bin", 4 << 20, seed=62)
    ret = deployment.salt_run("p2pdist.push", str(payload), timeout=300, kwargs={
        "tgt": "m1", "tgt_type": "list", "allow": "m4", "allow_type": "list", "dest": "/opt/adm2",
        "wait": True})
    assert ret["result"] is True and ret["allowed"] == ["m4"], ret
    write_sls(deployment, "adm2", {"adm2": {"p2pdist.present": [
        {"torrent": ret["torrent"]}, {"dest": "/opt/adm2"}, {"timeout": 120}]}})

    (refused,) = deployment.salt("m2", "state.apply", "adm2", timeout=120)["m2"].values()
    assert refused["result"] is False and "m2 is not admitted" in refused["comment"], refused

    (joined,) = deployment.salt("m4", "state.apply", "adm2", timeout=180)["m4"].values()
    assert joined["result"] is True, joined
    assert sha256(deployment.copy_at("m4", "/opt/adm2", "later.bin")) == sha256(payload)
    (again,) = deployment.salt("m4", "state.apply", "adm2", timeout=120)["m4"].values()
    assert again["result"] is True and again["changes"] == {}

    # The allowed host shows in status once it reported; the refused one does not.
    def hosts_once_m4_shows() -> set[str]:
        view = deployment.salt_run("p2pdist.status", ret["id"])
        hosts = set(view.get("minions", {})) if isinstance(view, dict) else set()
        return hosts if "m4" in hosts else set()

    assert wait_for("m4 in the status", hosts_once_m4_shows, timeout=30, every=1) == {"m1", "m4"}
    assert any(e["result"] == "issued" for e in audit_entries(deployment, "certificate", "m4", ret["id"]))


def test_a_certificate_for_one_distribution_gets_nothing_of_another_with_the_same_name(
        deployment: Deployment, srv: Path) -> None:
    a = write_random(srv / "a" / "payload.bin", 8 << 20, seed=63)
    b = write_random(srv / "b" / "payload.bin", 8 << 20, seed=64)
    ret_a = deployment.salt_run("p2pdist.push", str(a), timeout=300, kwargs={
        "tgt": "m1,m2", "tgt_type": "list", "dest": "/opt/admA", "wait": True})
    ret_b = deployment.salt_run("p2pdist.push", str(b), timeout=300, kwargs={
        "tgt": "m3", "tgt_type": "list", "dest": "/opt/admB", "wait": True})
    assert ret_a["result"] is True and ret_b["result"] is True, (ret_a, ret_b)
    assert sha256(deployment.copy_at("m3", "/opt/admB", "payload.bin")) == sha256(b)

    # m1's certificate and key from distribution A, as its agent holds them.
    state = deployment.minion_root("m1") / "cache" / "p2pdist"
    cert_a = json.loads((state / "dists" / ret_a["id"] / "order.json").read_text())["tls_cert"]
    key = (state / "tls.key").read_text()
    ses = bare_session()
    # B is seeded by m3 and by the master: m1's certificate for A gets none of it.
    stolen = try_download(deployment, ses, master_torrent(deployment, ret_b), srv / "steal", (cert_a, key))
    # Control: the same certificate does open A's swarm (the test can tell a refusal apart).
    control = try_download(deployment, ses, master_torrent(deployment, ret_a), srv / "control",
                           (cert_a, key), seconds=5)
    st = stolen.status()
    assert (st.total_payload_download, st.num_pieces) == (0, 0), "A's certificate fetched B"
    assert control.status().total_payload_download > 0

    # Each distribution has its own torrent URL: B did not replace A's.
    assert ret_a["id"] != ret_b["id"]
    assert ret_a["torrent"] == f"salt://p2pdist/{ret_a['id']}/payload.bin.torrent"
    assert ret_b["torrent"] == f"salt://p2pdist/{ret_b['id']}/payload.bin.torrent"
    assert lt.torrent_info(master_torrent(deployment, ret_a)).info_hashes().v2 != \
        lt.torrent_info(master_torrent(deployment, ret_b)).info_hashes().v2
