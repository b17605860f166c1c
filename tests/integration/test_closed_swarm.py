"""A closed swarm: a host that was not targeted gets no peers and no pieces.

The outsider is a bare libtorrent session holding the real .torrent (any
minion can read it from the master's file server) that can reach every peer.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote_from_bytes

import libtorrent as lt

from salt_p2pdist.testing.deployment import Deployment, sha256, write_random
from salt_p2pdist.testing.waiting import wait_for

OUTSIDER_IP = "127.0.0.60"


def endpoints(deployment: Deployment) -> list[tuple[str, int]]:
    """Every BitTorrent socket of the deployment: plain and TLS, minions and origin."""
    found = []
    for i, m in enumerate(["m1", "m2", "m3", "m4"], start=1):
        endpoint = deployment.minion_root(m) / "cache" / "p2pdist" / "agent.json"
        if not endpoint.exists():  # no agent yet on a minion that never got an order
            continue
        info = json.loads(endpoint.read_text())
        found += [(f"127.0.0.{10 + i}", info["bt_port"]), (f"127.0.0.{10 + i}", info["ssl_port"])]
    origin = deployment.root / "master" / "cache" / "p2pdist" / "origin" / "agent.json"
    info = json.loads(origin.read_text())
    return [*found, ("127.0.0.1", info["bt_port"]), ("127.0.0.1", info["ssl_port"])]


def announce(deployment: Deployment, info_hash20: bytes, minion: str, ca_pem: str,
             scheme: str = "https") -> bytes:
    """An announce without a certificate, checking the tracker against the swarm CA."""
    url = (f"{scheme}://127.0.0.1:{deployment.tracker_port}/announce?info_hash="
           f"{quote_from_bytes(info_hash20)}&port=6881&left=1&minion={minion}&auth={'0' * 32}")
    ctx = ssl.create_default_context(cadata=ca_pem) if scheme == "https" else None
    with urllib.request.urlopen(url, timeout=10, context=ctx) as resp:
        return bytes(resp.read())


def test_an_outsider_with_the_torrent_gets_nothing(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "closed.bin", 16 << 20, seed=41)
    ret = deployment.salt_run("p2pdist.push", str(payload),
                              kwargs={"tgt": "m1,m3", "tgt_type": "list", "dest": "/opt/closed"})
    assert ret["result"] is True, ret
    torrent = (Path(deployment.master_opts["file_roots"]["base"][0]) / "p2pdist"
               / ret["id"] / "closed.bin.torrent").read_bytes()
    ses = lt.session(lt.session_params({
        "listen_interfaces": f"{OUTSIDER_IP}:0,{OUTSIDER_IP}:0s", "outgoing_interfaces": OUTSIDER_IP,
        "enable_dht": False, "enable_lsd": False, "allow_multiple_connections_per_ip": True,
        "enable_outgoing_utp": False}))  # p2pdist peers speak TCP only
    atp = lt.load_torrent_buffer(torrent)
    atp.save_path = str(srv / "outsider")
    atp.flags &= ~(lt.torrent_flags.paused | lt.torrent_flags.auto_managed)
    outsider = ses.add_torrent(atp)  # it also announces to the tracker the torrent names
    # While the targets fetch, the outsider knocks on every socket, again and again.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for endpoint in endpoints(deployment):
            outsider.connect_peer(endpoint)
        time.sleep(1)
    for m in ("m1", "m3"):
        copy = deployment.copy_at(m, "/opt/closed", "closed.bin")
        wait_for(f"{m}'s copy", copy.exists, timeout=120)
        assert sha256(copy) == sha256(payload)  # the targets were not disturbed
    st = outsider.status()
    assert (st.total_payload_download, st.num_pieces) == (0, 0), "the outsider got data"

    # The tracker speaks TLS only, with a certificate from the swarm CA the torrent
    # carries; it introduces no one to a host that claims a target's name without
    # that target's certificate, nor to a minion that was not targeted.
    info = lt.torrent_info(torrent)
    info_hash20, ca_pem = info.info_hashes().v2.to_bytes()[:20], info.ssl_cert()
    assert b"without a certificate" in announce(deployment, info_hash20, "m1", ca_pem)
    assert b"not a target" in announce(deployment, info_hash20, "intruder", ca_pem)
    try:
        announce(deployment, info_hash20, "m1", ca_pem, scheme="http")
        raise AssertionError("the tracker answered in the clear")
    except (urllib.error.URLError, ConnectionError, OSError):
        pass
