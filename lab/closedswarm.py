"""Closed swarms for the loopback benches, as a real master sets them up.

The origin gets a swarm CA and a directory of "accepted minion keys"; each
agent gets its own RSA key (standing in for its Salt key) to sign its
certificate requests. Torrents carry the CA, so peers trade over TLS only,
with per-host certificates: the benches measure what production runs.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def make_keys(root: Path, hosts: list[str]) -> None:
    """A key per host in ``root/keys``, its public half in ``root/pki/<host>``."""
    (root / "keys").mkdir(parents=True, exist_ok=True)
    (root / "pki").mkdir(parents=True, exist_ok=True)
    for host in hosts:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (root / "keys" / f"{host}.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()))
        (root / "pki" / host).write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def origin_args(root: Path) -> list[str]:
    return ["--ca-dir", str(root / "ca"), "--known-hosts-dir", str(root / "pki")]


def agent_args(root: Path, host: str) -> list[str]:
    return ["--salt-key", str(root / "keys" / f"{host}.pem")]


def ca_file(root: Path) -> Path:
    """The CA certificate to put in torrents (the origin creates it when it starts)."""
    return root / "ca" / "ca.pem"
