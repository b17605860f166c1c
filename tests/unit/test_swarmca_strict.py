"""Swarm CA certificates pass strict (RFC 5280) verification, as Python 3.13's TLS does.

Python 3.13's default context sets VERIFY_X509_STRICT: a tracker certificate without the
CA's key identifier is refused ("Missing Authority Key Identifier"), and a 3.13 agent (a
Windows minion on Salt's onedir) could join no closed swarm. cryptography's verifier
applies the same profile on any Python.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

from salt_p2pdist.torrent import swarmca


def test_the_tracker_certificate_verifies_strictly(tmp_path: Path) -> None:
    ca = swarmca.SwarmCA(tmp_path / "ca")
    key = swarmca.new_key()
    leaf = x509.load_pem_x509_certificate(ca.issue_server(swarmca.public_pem(key), ["127.0.0.1", "salt"]))
    root = x509.load_pem_x509_certificate(ca.cert_pem)
    verifier = PolicyBuilder().store(Store([root])).build_server_verifier(
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    chain = verifier.verify(leaf, [])
    assert chain[-1] == root


def test_peer_certificates_name_their_issuer_key(tmp_path: Path) -> None:
    ca = swarmca.SwarmCA(tmp_path / "ca")
    peer = x509.load_pem_x509_certificate(
        ca.issue(swarmca.public_pem(swarmca.new_key()), torrent_name="app-1.0.bin.p2p", holder="win1"))
    root = x509.load_pem_x509_certificate(ca.cert_pem)
    aki = peer.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest

