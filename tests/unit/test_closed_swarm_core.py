"""Swarm CA, torrent signatures, the certificate desk and who may announce."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import libtorrent as lt
import pytest
import salt_fakes
from cryptography import x509

from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.kept import KeptSwarms
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.trackerdesk import Desk, known_host
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.torrent import creation, metainfo, signature, swarmca
from salt_p2pdist.tracker.announce import Holder, TrackerError, parse_announce
from salt_p2pdist.tracker.certdesk import UsedRequests, issue_certificate
from salt_p2pdist.tracker.tracker import Tracker


def salt_keypair(directory: Path, name: str) -> tuple[Path, Path]:
    return salt_fakes.salt_keypair(directory, f"{name}.pem", f"{name}.pub")


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("swarm")
    (d / "pkg.bin").write_bytes(os.urandom(200_000))
    ca = swarmca.SwarmCA(d / "ca")
    master_key, master_pub = salt_keypair(d, "master")
    torrent = creation.create(d / "pkg.bin", "http://127.0.0.1:6970/announce", ca.cert_pem.decode())
    return {"dir": d, "ca": ca, "master_pub": master_pub,
            "torrent": signature.sign_torrent(torrent, master_key, ["/srv/p2pdist"], ["m1", "m2"]),
            "unsigned": torrent}


def test_the_torrent_carries_the_ca_and_the_signature_keeps_the_info_hash(signed: dict) -> None:
    meta = metainfo.describe(signed["torrent"])
    assert meta.ssl and meta.info_hash == metainfo.describe(signed["unsigned"]).info_hash
    checked, roots = signature.check_torrent(signed["torrent"], signed["master_pub"])
    assert checked.dist_id == meta.dist_id and roots == ["/srv/p2pdist"]
    assert lt.torrent_info(signed["torrent"]).ssl_cert().encode() == signed["ca"].cert_pem


def test_foreign_unsigned_and_tampered_torrents_are_refused(signed: dict, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="not signed"):
        signature.check_torrent(signed["unsigned"], signed["master_pub"])
    _other_key, other_pub = salt_keypair(tmp_path, "other-master")
    with pytest.raises(InvalidRequest, match="not issued by this minion's master"):
        signature.check_torrent(signed["torrent"], other_pub)
    # Same signature, info dict edited (a file renamed): the info hash no longer matches.
    tampered = signed["torrent"].replace(b"pkg.bin", b"pkg.exe")
    with pytest.raises(InvalidRequest, match="not issued by this minion's master"):
        signature.check_torrent(tampered, signed["master_pub"])
    # The allowed roots are signed too: widening them breaks the signature.
    widened = signed["torrent"].replace(b"12:/srv/p2pdist", b"12:/etc/p2pdist")
    with pytest.raises(InvalidRequest, match="not issued by this minion's master"):
        signature.check_torrent(widened, signed["master_pub"])
    # So are the admitted minions: a minion cannot write itself in.
    assert signature.admitted(signed["torrent"]) == ["m1", "m2"]
    self_admitted = signed["torrent"].replace(b"2:m2", b"2:m3")
    assert signature.admitted(self_admitted) == ["m1", "m3"]
    with pytest.raises(InvalidRequest, match="not issued by this minion's master"):
        signature.check_torrent(self_admitted, signed["master_pub"])


def _desk(signed: dict, minion_pub: Path) -> tuple[Tracker, bytes]:
    tracker = Tracker(require_cert=True)
    info_hash20 = bytes.fromhex(metainfo.describe(signed["torrent"]).info_hash)[:20]
    tracker.register(info_hash20, frozenset({"m1"}), 0, metainfo.describe(signed["torrent"]).torrent_name)
    return tracker, info_hash20


def _request(signed: dict, minion_key: Path, minion: str = "m1", when: float | None = None) -> dict:
    info_hash = metainfo.describe(signed["torrent"]).info_hash
    tls = swarmca.public_pem(swarmca.new_key())
    when_i = int(when if when is not None else time.time())
    return {"info_hash": info_hash, "minion": minion, "time": when_i, "tls_key": tls.decode(),
            "signature": swarmca.sign(minion_key, swarmca.request_payload(info_hash, minion, tls, when_i))}


def test_a_target_signing_with_its_salt_key_gets_a_certificate_for_this_torrent(
        signed: dict, tmp_path: Path) -> None:
    key, pub = salt_keypair(tmp_path, "m1")
    tracker, _ = _desk(signed, pub)
    answer = issue_certificate(tracker, signed["ca"], _request(signed, key),
                               key_of=lambda m: pub.read_bytes() if m == "m1" else None, now=time.time(),
                               used=UsedRequests())
    cert = x509.load_pem_x509_certificate(answer["cert"].encode())
    # libtorrent matches the SAN to the torrent name, unique to this content; never "*".
    name = metainfo.describe(signed["torrent"]).torrent_name
    assert name.startswith("p2pdist-")
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [name]
    assert cert.issuer == x509.load_pem_x509_certificate(signed["ca"].cert_pem).subject
    assert cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "m1"
    assert set(answer) == {"cert"}  # no bearer token: announces are authenticated by the certificate


def test_the_desk_refuses_outsiders_forgeries_and_stale_requests(signed: dict, tmp_path: Path) -> None:
    key, pub = salt_keypair(tmp_path, "m1")
    forger_key, _ = salt_keypair(tmp_path, "forger")
    tracker, _ = _desk(signed, pub)
    keys = {"m1": pub.read_bytes()}
    cases = [(_request(signed, key, minion="m9"), "not a target"),
             (_request(signed, forger_key), "not signed with m1's accepted Salt key"),
             (_request(signed, key, when=time.time() - 3600), "check its clock"),
             ({"minion": "m1"}, "malformed")]
    for body, reason in cases:
        with pytest.raises(TrackerError, match=reason):
            issue_certificate(tracker, signed["ca"], body, key_of=keys.get, now=time.time(),
                              used=UsedRequests())
    # Another swarm under the same torrent name: a certificate would fit both.
    tracker.register(b"\x07" * 20, frozenset({"m1"}), 0, metainfo.describe(signed["torrent"]).torrent_name)
    with pytest.raises(TrackerError, match="shares its torrent name"):
        issue_certificate(tracker, signed["ca"], _request(signed, key), key_of=keys.get, now=time.time(),
                          used=UsedRequests())


def test_a_certificate_request_is_good_once(signed: dict, tmp_path: Path) -> None:
    """A replay within the 5 minutes (even with the signature re-encoded) gets nothing."""
    key, pub = salt_keypair(tmp_path, "m1")
    tracker, _ = _desk(signed, pub)
    used, keys = UsedRequests(), {"m1": pub.read_bytes()}
    body = _request(signed, key)
    desk = {"key_of": keys.get, "used": used}
    assert "cert" in issue_certificate(tracker, signed["ca"], body, now=time.time(), **desk)
    for replay in (body, {**body, "signature": body["signature"] + "\n"}):
        with pytest.raises(TrackerError, match="presented before"):
            issue_certificate(tracker, signed["ca"], replay, now=time.time() + 60, **desk)
    # A new request (new time, new signature) from the same host is served.
    fresh = _request(signed, key, when=time.time() + 1)
    assert "cert" in issue_certificate(tracker, signed["ca"], fresh, now=time.time(), **desk)


def test_announces_need_the_hosts_certificate_for_that_swarm() -> None:
    tracker = Tracker(require_cert=True)
    tracker.register(b"\x02" * 20, frozenset({"m1", "m3"}), 0, "pkg.bin")
    query = "info_hash=" + "%02" * 20 + "&port=6881&left=5&minion=m1"
    refusals = [(None, "without a certificate"),
                (Holder("m3", "pkg.bin"), "m3's certificate cannot announce for m1"),
                (Holder("m1", "other.bin"), "for another swarm")]
    for holder, reason in refusals:
        with pytest.raises(TrackerError, match=reason):
            tracker.announce(parse_announce(query, "10.0.0.1"), "10.0.0.254", holder)
    assert tracker.swarms[b"\x02" * 20].peers == {}
    assert tracker.announce(parse_announce(query, "10.0.0.1"), "10.0.0.254", Holder("m1", "pkg.bin")) == []
    assert tracker.swarms[b"\x02" * 20].peers["m1"].ip == "10.0.0.1"


def test_no_certificate_for_every_torrent(signed: dict) -> None:
    with pytest.raises(ValueError, match="one distribution only"):
        signed["ca"].issue(swarmca.public_pem(swarmca.new_key()), torrent_name="*", holder="m1")


def test_the_origins_desk_issues_to_an_accepted_minion_refuses_others_and_audits_both(
        signed: dict, tmp_path: Path) -> None:
    keys = tmp_path / "minions"
    keys.mkdir()
    minion_key, minion_pub = salt_keypair(tmp_path, "m1")
    (keys / "m1").write_bytes(minion_pub.read_bytes())  # the master accepted m1's key
    cfg = AgentConfig(state_dir=tmp_path / "origin", host_id="origin", known_hosts_dir=keys,
                      audit_log=tmp_path / "audit.jsonl")
    tracker, _ = _desk(signed, minion_pub)
    desk = Desk(cfg, signed["ca"], tracker, threading.Lock(), KeptSwarms(tmp_path / "kept.json"),
                seed_record=lambda _dist_id: None)
    assert known_host(cfg, "m1") and not known_host(cfg, "m2") and not known_host(cfg, "../m1")
    answer = desk.certify(_request(signed, minion_key))
    assert x509.load_pem_x509_certificate(answer["cert"].encode())
    with pytest.raises(TrackerError):
        desk.certify(_request(signed, minion_key, minion="m2"))  # m1's key, m2's name
    info_hash, when = metainfo.describe(signed["torrent"]).info_hash, int(time.time())
    asked = {"info_hash": info_hash, "minion": "m1", "time": when,
             "signature": swarmca.sign(minion_key, swarmca.torrent_request_payload(info_hash, "m1", when))}
    with pytest.raises(TrackerError, match="no longer holds"):  # neither seeded nor kept
        desk.serve_torrent(asked)
    desk.seed_record = lambda _dist_id: OrderRecord.from_json({  # the origin seeds it
        "dist_id": info_hash[:16], "torrent": "dG9ycmVudA==", "dest": str(tmp_path), "mode": "seed",
        "phase": "seed", "save_path": str(tmp_path)})
    assert desk.serve_torrent(asked) == {"torrent": "dG9ycmVudA=="}
    with pytest.raises(TrackerError, match="not a target"):
        desk.serve_torrent({**asked, "minion": "m2"})
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(e["action"], e["user"], e["result"][:7]) for e in audit] == [
        ("certificate", "m1", "issued"), ("certificate", "m2", "refused")]
