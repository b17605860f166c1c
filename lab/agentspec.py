"""The agents mode's deployment on disk: the master's and each host's opts, and their Salt keys.

In the agents mode no Salt daemon runs, so what ``salt-key`` and the minions'
first start would leave behind is written here: the master's key pair (it
signs torrents), each host's key pair (it signs certificate requests to the
tracker) with its public half accepted under the master's ``pki_dir/minions``
(where the tracker checks them), and the master's public key on each host
(``minion_master.pub``, which the minion module checks torrents with). The
opts hold only what p2pdist reads from Salt's opts; every p2pdist setting
not given by the lab keeps its default.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 2048  # Salt's default keysize
SPEC_NAME = "agents.json"


@dataclass(frozen=True)
class Host:
    """One client host: its minion id, network namespace and the opts its module sees."""

    id: str
    netns: str | None
    opts: dict[str, Any]
    grains: dict[str, Any]


@dataclass(frozen=True)
class Spec:
    master: dict[str, Any]
    hosts: list[Host]

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({"master": self.master, "hosts": [asdict(h) for h in self.hosts]},
                                   indent=1))

    @classmethod
    def read(cls, path: Path) -> Spec:
        raw = json.loads(path.read_text())
        return cls(raw["master"], [Host(**h) for h in raw["hosts"]])


def master_opts(root: Path, interface: str, p2pdist: dict[str, Any]) -> dict[str, Any]:
    """The Salt master opts p2pdist's runner reads (pki_dir, cachedir, file_roots...)."""
    daemon = root / "master"
    return {"id": "master", "interface": interface, "pki_dir": str(daemon / "pki"),
            "cachedir": str(daemon / "cache"), "file_roots": {"base": [str(daemon / "srv" / "salt")]},
            "output": "json", "p2pdist": p2pdist}


def host(root: Path, minion_id: str, netns: str | None, p2pdist: dict[str, Any]) -> Host:
    """A host laid out as a minion's root would be: its agent's state in <cachedir>/p2pdist."""
    daemon = root / "minions" / minion_id
    return Host(id=minion_id, netns=netns, grains={}, opts={
        "id": minion_id, "pki_dir": str(daemon / "pki"), "cachedir": str(daemon / "cache"),
        "p2pdist": p2pdist})


def staging_dir(h: Host) -> Path:
    """Where the host's agent writes pieces before the copy is placed (MinionSettings' default)."""
    return Path(h.opts["cachedir"]) / "p2pdist" / "staging"


def _key_pair() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)


def write_keys(spec: Spec) -> None:
    """Keys as an accepted Salt deployment has them (see the module docstring)."""
    pki = Path(spec.master["pki_dir"])
    private, public = _key_pair()
    _write(pki / "master.pem", private, 0o400)
    _write(pki / "master.pub", public, 0o644)
    for h in spec.hosts:
        own = Path(h.opts["pki_dir"])
        host_private, host_public = _key_pair()
        _write(own / "minion.pem", host_private, 0o400)
        _write(own / "minion.pub", host_public, 0o644)
        _write(own / "minion_master.pub", public, 0o644)
        _write(pki / "minions" / h.id, host_public, 0o644)
