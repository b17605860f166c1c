"""The closed swarm's certificate authority, and signed certificate requests.

Every torrent p2pdist makes is an SSL torrent: its info dict carries the
master's swarm CA, and libtorrent only exchanges pieces with peers that show
a certificate from that CA naming this torrent. The CA key never leaves the
master. Each minion keeps its own TLS key and asks the master's tracker for a
certificate, signing the request with its Salt key, which the master already
holds (accepted keys): no new secret travels and an outsider cannot ask.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.files.secretfile import private_dir, write_private

CERT_DAYS = 3650  # per distribution and holder; the tracker refuses departed hosts anyway
REQUEST_MAX_AGE_S = 300


def new_key() -> bytes:
    """A fresh P-256 private key, PEM (TLS between peers)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_pem(key_pem: bytes) -> bytes:
    return _ec_private(key_pem).public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def _ec_private(key_pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(key_pem, None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("not an elliptic-curve private key")
    return key


def _ec_public(key_pem: bytes) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key(key_pem)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an elliptic-curve public key")
    return key


def host_key(path: Path) -> bytes:
    """This host's TLS key, created once with mode 0600."""
    if not path.exists():
        write_private(path, new_key(), exclusive=True)  # a racing creator's key wins
    return path.read_bytes()


# Python 3.13's default TLS context verifies strictly (VERIFY_X509_STRICT): a CA needs its
# key usage and key identifier, an issued certificate the CA's key identifier; without
# them a 3.13 agent (Salt's onedir, Windows) refuses the tracker ("Missing Authority Key
# Identifier"). A CA created before these extensions must be created again.
_CA_USAGE = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                          crl_sign=True, encipher_only=False, decipher_only=False)


def _issued_by(ca: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key())  # type: ignore[arg-type]


class SwarmCA:
    def __init__(self, directory: Path):
        self.dir = directory
        if not (directory / "ca.pem").exists():
            # Only when creating: a runner reading the CA certificate may run as another user.
            private_dir(directory)  # the CA key
            self._create()
        self.cert_pem = (directory / "ca.pem").read_bytes()

    def _create(self) -> None:
        key = _ec_private(host_key(self.dir / "ca.key"))
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "p2pdist swarm CA")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(_CA_USAGE, critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        tmp = self.dir / f"ca.pem.{os.getpid()}.tmp"  # a push and the master's returner may race
        tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        os.replace(tmp, self.dir / "ca.pem")

    def issue(self, public_key_pem: bytes, *, torrent_name: str, holder: str) -> bytes:
        """A certificate for one holder in one torrent.

        libtorrent admits a peer whose certificate's SubjectAltName DNS entry
        equals the torrent's name (or is ``*``): the SAN is exactly that name,
        which p2pdist makes unique per content (creation.bind_name). Never ``*``.
        """
        if not torrent_name or "*" in torrent_name:
            raise ValueError(f"no certificate for torrent name {torrent_name!r}: one distribution only")
        ca_key = _ec_private((self.dir / "ca.key").read_bytes())
        ca = x509.load_pem_x509_certificate(self.cert_pem)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, torrent_name),
                             x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, holder)])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.subject)
                .public_key(_ec_public(public_key_pem))
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(torrent_name)]),
                               critical=False)
                .add_extension(_issued_by(ca), critical=False)
                .sign(ca_key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.PEM)

    def issue_server(self, public_key_pem: bytes, names: list[str]) -> bytes:
        """The tracker's TLS certificate: agents and libtorrent check it against this CA.

        ``names`` are the host names and addresses minions use to reach the
        master (the tracker URL's host). Its subject names no torrent, so it
        is no peer certificate in any swarm.
        """
        ca_key = _ec_private((self.dir / "ca.key").read_bytes())
        ca = x509.load_pem_x509_certificate(self.cert_pem)
        sans: list[x509.GeneralName] = []
        for name in dict.fromkeys(names):
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "p2pdist tracker")]))
                .issuer_name(ca.subject).public_key(_ec_public(public_key_pem))
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(_issued_by(ca), critical=False)
                .sign(ca_key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.PEM)


# -- certificate requests, signed with the minion's Salt key -----------------
def request_payload(info_hash: str, minion: str, tls_public_pem: bytes, when: int) -> bytes:
    return json.dumps({"info_hash": info_hash, "minion": minion, "time": when,
                       "tls_key": tls_public_pem.decode()}, sort_keys=True).encode()


def torrent_request_payload(info_hash: str, minion: str, when: int) -> bytes:
    """A request for a distribution's torrent (orders too big for Salt name it by info hash);
    never equal to a certificate request's payload (other keys)."""
    return json.dumps({"purpose": "torrent", "info_hash": info_hash, "minion": minion, "time": when},
                      sort_keys=True).encode()


def sign(salt_key_path: Path, payload: bytes) -> str:
    key = serialization.load_pem_private_key(salt_key_path.read_bytes(), None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidRequest(f"{salt_key_path} is not an RSA key")
    return base64.b64encode(key.sign(payload, padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(salt_public_key: bytes, payload: bytes, signature: str) -> bool:
    key = serialization.load_pem_public_key(salt_public_key)
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(base64.b64decode(signature), payload, padding.PKCS1v15(), hashes.SHA256())
    except Exception:  # InvalidSignature, or garbage that is not base64
        return False
    return True
