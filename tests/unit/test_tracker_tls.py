"""The tracker's TLS face, with real sockets, real certificates and real libtorrent.

Who announces is whom the connection's client certificate names, at the
connection's address: a copied string (the bearer token of earlier versions,
a claimed ``ip=``) moves or removes nobody. Clients trust only the swarm CA.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import libtorrent as lt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from salt_p2pdist.agent import mastertls
from salt_p2pdist.agent.certify import Certifier
from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.trackerserver import TrackerServer, server_tls
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.testing.waiting import wait_for
from salt_p2pdist.torrent import creation, metainfo, swarmca
from salt_p2pdist.tracker.announce import Holder
from salt_p2pdist.tracker.certdesk import UsedRequests, issue_certificate
from salt_p2pdist.tracker.tracker import Tracker

M1_IP, M3_IP, THIEF_IP = "127.0.0.11", "127.0.0.13", "127.0.0.66"


@dataclass
class Site:
    dir: Path
    ca: swarmca.SwarmCA
    torrent: bytes
    info_hash20: bytes
    tracker: Tracker
    port: int

    def client(self, host: str | None) -> tuple[Path, Path] | None:
        """``host``'s certificate and TLS key for this swarm, as files (None: no certificate)."""
        if host is None:
            return None
        key = swarmca.host_key(self.dir / f"{host}.key")
        cert = self.dir / f"{host}.pem"
        cert.write_bytes(self.ca.issue(swarmca.public_pem(key), torrent_name="pkg.bin", holder=host))
        return cert, self.dir / f"{host}.key"

    def get(self, path: str, *, source: str, host: str | None, plain: bool = False) -> bytes:
        """One request from ``source``, over TLS showing ``host``'s certificate (or in the clear)."""
        if plain:
            conn: http.client.HTTPConnection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=5, source_address=(source, 0))
        else:
            ctx = mastertls.client_context(self.ca.cert_pem.decode(), self.client(host))
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=5,
                                               source_address=(source, 0), context=ctx)
        try:
            conn.request("GET", path)
            return conn.getresponse().read()
        finally:
            conn.close()

    def announce(self, minion: str, *, source: str, host: str | None, extra: str = "",
                 plain: bool = False) -> bytes:
        query = f"info_hash={quote_from_bytes(self.info_hash20)}&port=6881&left=1&minion={minion}{extra}"
        return self.get(f"/announce?{query}", source=source, host=host, plain=plain)


def _serve(directory: Path, ca: swarmca.SwarmCA, tracker: Tracker, certs: Any = None) -> TrackerServer:
    cfg = AgentConfig(state_dir=directory, host_id="origin", tracker_port=0, tracker_interface="127.0.0.1")
    swarmca.host_key(directory / "tls.key")
    tls = server_tls(cfg, ca, directory / "tls.key")
    server = TrackerServer("127.0.0.1", 0, tracker, certs, tls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    d = tmp_path_factory.mktemp("tls")
    (d / "pkg.bin").write_bytes(os.urandom(100_000))
    ca = swarmca.SwarmCA(d / "ca")
    tracker = Tracker(require_cert=True, interval=5)
    server = _serve(d, ca, tracker, certs=None)
    torrent = creation.create(d / "pkg.bin", f"https://127.0.0.1:{server.server_address[1]}/announce",
                              ca.cert_pem.decode())
    info_hash20 = bytes.fromhex(metainfo.describe(torrent).info_hash)[:20]
    tracker.register(info_hash20, frozenset({"m1", "m3"}), 0, "pkg.bin")
    yield Site(d, ca, torrent, info_hash20, tracker, server.server_address[1])
    server.shutdown()
    server.server_close()


def test_a_stolen_token_or_certificate_cannot_move_or_remove_another_hosts_entry(site: Site) -> None:
    assert b"failure" not in site.announce("m1", source=M1_IP, host="m1")
    assert site.tracker.swarms[site.info_hash20].peers["m1"].ip == M1_IP
    # What earlier versions let a thief do with m1's announce token: announce as m1
    # from elsewhere (its entry moved there) and send "stopped" (its entry gone).
    stolen = "&auth=" + "0" * 32 + f"&ip={THIEF_IP}"
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        site.announce("m1", source=THIEF_IP, host=None, extra=stolen, plain=True)  # no TLS: no answer
    for event in ("", "&event=stopped"):
        assert b"without a certificate" in site.announce(
            "m1", source=THIEF_IP, host=None, extra=stolen + event)
        # m3's own certificate (and key) does not speak for m1 either.
        assert b"m3's certificate cannot announce for m1" in site.announce(
            "m1", source=THIEF_IP, host="m3", extra=stolen + event)
    assert site.tracker.swarms[site.info_hash20].peers["m1"].ip == M1_IP
    # m3 is still introduced to m1 where m1 really is.
    answer = site.announce("m3", source=M3_IP, host="m3")
    assert bytes(map(int, M1_IP.split("."))) in answer
    assert THIEF_IP.encode() not in answer and bytes(map(int, THIEF_IP.split("."))) not in answer
    # And m1's own "stopped" still works.
    site.announce("m1", source=M1_IP, host="m1", extra="&event=stopped")
    assert "m1" not in site.tracker.swarms[site.info_hash20].peers


def test_wan_share_answers_only_a_host_showing_its_own_certificate(site: Site) -> None:
    site.announce("m1", source=M1_IP, host="m1")
    assert b"without m1's certificate" in site.get("/wan?minion=m1", source=THIEF_IP, host=None)
    assert b"without m1's certificate" in site.get("/wan?minion=m1", source=THIEF_IP, host="m3")
    assert "site" in json.loads(site.get("/wan?minion=m1", source=M1_IP, host="m1"))


def _salt_key(directory: Path) -> tuple[Path, bytes]:
    """m1's Salt key file and its public half (PEM)."""
    salt_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = directory / "m1.pem"
    key.write_bytes(salt_key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return key, salt_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def test_a_replayed_certificate_request_is_refused(site: Site, tmp_path: Path) -> None:
    key, salt_pub = _salt_key(tmp_path)
    used = UsedRequests()
    server = _serve(tmp_path, site.ca, site.tracker, lambda body: issue_certificate(
        site.tracker, site.ca, body, key_of={"m1": salt_pub}.get, now=time.time(), used=used))
    try:
        info_hash = metainfo.describe(site.torrent).info_hash
        tls_key = swarmca.public_pem(swarmca.new_key())
        when = int(time.time())
        signature = swarmca.sign(key, swarmca.request_payload(info_hash, "m1", tls_key, when))
        body = json.dumps({"info_hash": info_hash, "minion": "m1", "time": when,
                           "tls_key": tls_key.decode(), "signature": signature})
        url = f"https://127.0.0.1:{server.server_address[1]}/cert"
        ctx = mastertls.client_context(site.ca.cert_pem.decode())
        assert "cert" in mastertls.call(url, ctx, data=body.encode(), timeout=5)
        with pytest.raises(ValueError, match="presented before"):  # the same bytes again, 1 s later
            mastertls.call(url, ctx, data=body.encode(), timeout=5)
    finally:
        server.shutdown()
        server.server_close()


def _libtorrent_announce(torrent: bytes, save: Path, cert: tuple[Path, Path]) -> tuple[str, str]:
    """Add ``torrent`` to a fresh session at M1_IP with ``cert``; (first tracker alert, message)."""
    ses = lt.session(lt.session_params({
        "listen_interfaces": f"{M1_IP}:0,{M1_IP}:0s", "outgoing_interfaces": M1_IP,
        "enable_dht": False, "enable_lsd": False, "stop_tracker_timeout": 1,
        "alert_mask": int(lt.alert_category.tracker | lt.alert_category.error)}))
    atp = lt.load_torrent_buffer(torrent)
    atp.save_path = str(save)
    atp.flags &= ~(lt.torrent_flags.paused | lt.torrent_flags.auto_managed)
    url = atp.trackers[0] + "?minion=m1"
    atp.trackers = []
    handle = ses.add_torrent(atp)
    handle.set_ssl_certificate_buffer(cert[0].read_text(), cert[1].read_text(), "")
    handle.replace_trackers([lt.announce_entry(url)])
    handle.force_reannounce()

    def announce_done() -> tuple[str, str] | None:
        for alert in ses.pop_alerts():
            if isinstance(alert, (lt.tracker_reply_alert, lt.tracker_error_alert)):
                return type(alert).__name__, alert.message()
        return None

    return wait_for("libtorrent to finish its announce", announce_done, timeout=20, every=0.1)


def test_libtorrent_announces_over_tls_with_its_certificate_and_its_own_address(site: Site) -> None:
    site.tracker.swarms[site.info_hash20].peers.clear()
    kind, message = _libtorrent_announce(site.torrent, site.dir / "lt", site.client("m1") or ())
    assert kind == "tracker_reply_alert", message
    assert site.tracker.swarms[site.info_hash20].peers["m1"].ip == M1_IP


def test_a_certified_host_re_added_shows_its_certificate_with_its_first_announce(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A finished download re-added as a seed, or a restart: the record holds the certificate.

    libtorrent announces the moment a torrent is added; a refused announce
    makes it wait minutes before asking again, so the host would be missing
    from the swarm (a latecomer then finds nobody to fetch from).
    """
    seen: list[tuple[str, Holder | None]] = []
    respond = site.tracker.respond

    def recording(query: str, source_ip: str, origin_ip: str, holder: Holder | None = None) -> bytes:
        if "minion=m1" in query:
            seen.append((query, holder))
        return respond(query, source_ip, origin_ip, holder)

    monkeypatch.setattr(site.tracker, "respond", recording)
    site.tracker.swarms[site.info_hash20].peers.clear()
    engine = Engine(AgentConfig(state_dir=tmp_path / "m1", host_id="m1", bt_interface=M1_IP,
                                outgoing_interface=M1_IP))
    try:
        meta = metainfo.describe(site.torrent)
        cert = site.ca.issue(swarmca.public_pem(engine.certs.key), torrent_name="pkg.bin", holder="m1")
        record = OrderRecord.from_json({
            "mode": "fetch", "name": meta.name, "dist_id": meta.dist_id,
            "torrent": base64.b64encode(site.torrent).decode(),
            "tracker": f"https://127.0.0.1:{site.port}/announce", "force": False,
            "targets": ["m1"], "upload_limit": 0, "sites": {}, "site": "",
            "dest": str(tmp_path / "dest"), "phase": "staging",
            "save_path": str(tmp_path / "staging"), "tls_cert": cert.decode()})
        engine.start(record, None)
        wait_for("m1's announce", lambda: seen, timeout=20, every=0.1)
    finally:
        engine.close()
    assert seen[0][1] == Holder("m1", "pkg.bin"), f"first announce without m1's certificate: {seen[0]}"


def test_an_agent_refuses_a_tracker_whose_certificate_is_not_from_its_masters_ca(
        site: Site, tmp_path: Path) -> None:
    """A host answering at the tracker's address with a certificate from another CA hears nothing."""
    rogue_ca = swarmca.SwarmCA(tmp_path / "rogue-ca")  # same name, other key
    heard = Tracker(require_cert=False)  # would accept anything, and record it
    rogue = _serve(tmp_path, rogue_ca, heard)
    heard.register(site.info_hash20, frozenset({"m1"}), 0, "pkg.bin")
    try:
        port = rogue.server_address[1]
        torrent = lt.torrent_info(site.torrent)
        assert torrent.ssl_cert().encode() == site.ca.cert_pem
        redirected = lt.bencode({**lt.bdecode(site.torrent),
                                 b"announce": f"https://127.0.0.1:{port}/announce".encode()})
        kind, message = _libtorrent_announce(redirected, tmp_path / "lt", site.client("m1") or ())
        assert kind == "tracker_error_alert", message
        assert heard.swarms[site.info_hash20].peers == {}  # no announce reached it
        # The agent's certificate request, with the CA it takes from the torrent.
        ses = lt.session(lt.session_params({"listen_interfaces": f"{M1_IP}:0", "enable_dht": False}))
        atp = lt.load_torrent_buffer(redirected)
        atp.save_path, atp.trackers = str(tmp_path / "agent"), []
        meta = metainfo.describe(redirected)
        record = OrderRecord(dist_id=meta.dist_id, mode="fetch", torrent="", phase="staging",
                             save_path=str(tmp_path / "agent"), tracker=f"https://127.0.0.1:{port}/announce")
        transfer = Transfer(record=record, meta=meta, handle=ses.add_torrent(atp))
        certifier = Certifier(tmp_path / "agent-state", "m1", _salt_key(tmp_path)[0])
        with pytest.raises(mastertls.UntrustedTracker, match="not from this master's swarm CA"):
            certifier.request(transfer)
    finally:
        rogue.shutdown()
        rogue.server_close()
