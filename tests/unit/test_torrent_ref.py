"""Orders for big torrents name them; the minion fetches them from the master's tracker over TLS.

Real sockets, a real TLS tracker with a certificate from the swarm CA, real
signed requests: the order stays small, only an admitted host gets the
torrent, and only the bytes the order's digest names are accepted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.trackerserver import TrackerServer, server_tls
from salt_p2pdist.core.errors import InvalidRequest, TransferError
from salt_p2pdist.master.orders import INLINE_TORRENT_MAX, fetch_order
from salt_p2pdist.minion.torrentref import fetch_torrent
from salt_p2pdist.torrent import creation, metainfo, swarmca
from salt_p2pdist.tracker.certdesk import check_torrent_request
from salt_p2pdist.tracker.tracker import Tracker


@dataclass
class Desk:
    dir: Path
    ca: swarmca.SwarmCA
    torrent: bytes
    tracker_url: str
    order: dict


def _rsa_key(path: Path) -> bytes:
    """A Salt-like RSA key at ``path``; its public half (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = serialization.Encoding.PEM
    path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    return key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    d = tmp_path_factory.mktemp("ref")
    tree = d / "tree"
    for i in range(300):  # names, sizes and roots of 300 files: a torrent above the inline limit
        (tree / f"d{i // 100}").mkdir(parents=True, exist_ok=True)
        (tree / f"d{i // 100}" / f"f{i:03d}.txt").write_bytes(f"file {i}\n".encode() * (i + 1))
    ca = swarmca.SwarmCA(d / "ca")
    keys = {m: _rsa_key(d / f"{m}.pem") for m in ("m1", "m9")}
    tracker = Tracker(require_cert=True, interval=5)
    cfg = AgentConfig(state_dir=d, host_id="origin", tracker_port=0, tracker_interface="127.0.0.1")
    swarmca.host_key(d / "tls.key")
    holder: dict[str, bytes] = {}

    def serve(body: dict) -> dict[str, str]:
        check_torrent_request(tracker, body, key_of=keys.get, now=time.time())
        return {"torrent": base64.b64encode(holder["torrent"]).decode()}

    server = TrackerServer("127.0.0.1", 0, tracker, None, server_tls(cfg, ca, d / "tls.key"), serve)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}/announce"
    torrent = holder["torrent"] = creation.create(tree, url, ca.cert_pem.decode())
    meta = metainfo.describe(torrent)
    tracker.register(bytes.fromhex(meta.info_hash)[:20], frozenset({"m1"}), 0, meta.torrent_name)
    order = fetch_order(meta, torrent, dest="/opt", force=False, tracker=url, order_id="7")
    yield Desk(d, ca, torrent, url, order)
    server.shutdown()
    server.server_close()


def test_a_big_torrent_is_named_in_the_order_not_carried(desk: Desk) -> None:
    assert len(desk.torrent) > INLINE_TORRENT_MAX
    assert "torrent" not in desk.order
    ref = desk.order["torrent_ref"]
    assert ref["sha256"] == hashlib.sha256(desk.torrent).hexdigest()
    assert ref["info_hash"] == metainfo.describe(desk.torrent).info_hash
    assert ref["ca"] == desk.ca.cert_pem.decode()
    assert len(json.dumps(desk.order)) < 2048  # the CA is most of it


def test_an_admitted_host_fetches_exactly_the_torrent_the_order_names(desk: Desk) -> None:
    data = fetch_torrent(desk.order["torrent_ref"], desk.tracker_url, "m1", desk.dir / "m1.pem")
    assert data == desk.torrent


def test_a_host_not_admitted_gets_no_torrent(desk: Desk) -> None:
    with pytest.raises(TransferError, match="m9 is not a target"):
        fetch_torrent(desk.order["torrent_ref"], desk.tracker_url, "m9", desk.dir / "m9.pem")


def test_a_request_signed_with_another_key_gets_no_torrent(desk: Desk) -> None:
    with pytest.raises(TransferError, match="not signed with m1's accepted Salt key"):
        fetch_torrent(desk.order["torrent_ref"], desk.tracker_url, "m1", desk.dir / "m9.pem")


def test_bytes_that_do_not_match_the_digest_are_refused(desk: Desk) -> None:
    ref = {**desk.order["torrent_ref"], "sha256": "0" * 64}
    with pytest.raises(InvalidRequest, match="does not match the order's digest"):
        fetch_torrent(ref, desk.tracker_url, "m1", desk.dir / "m1.pem")


def test_a_tracker_without_the_swarm_ca_is_not_asked(desk: Desk, tmp_path: Path) -> None:
    other = swarmca.SwarmCA(tmp_path / "other-ca")
    ref = {**desk.order["torrent_ref"], "ca": other.cert_pem.decode()}
    with pytest.raises(TransferError, match="certificate is not from"):
        fetch_torrent(ref, desk.tracker_url, "m1", desk.dir / "m1.pem")


def test_a_malformed_reference_is_refused_before_asking(desk: Desk) -> None:
    with pytest.raises(InvalidRequest, match="malformed"):
        fetch_torrent({"info_hash": "x"}, desk.tracker_url, "m1", desk.dir / "m1.pem")


def test_a_small_torrent_still_travels_in_the_order(tmp_path: Path) -> None:
    (tmp_path / "one.bin").write_bytes(b"x" * 1000)
    torrent = creation.create(tmp_path / "one.bin", "https://t/announce")
    order = fetch_order(metainfo.describe(torrent), torrent, dest="/opt", force=False, tracker="https://t/announce")
    assert base64.b64decode(order["torrent"]) == torrent and "torrent_ref" not in order
