"""Fakes of p2pdist's own interfaces to Salt and to an agent, for master and minion code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from salt_p2pdist.core.errors import AgentUnavailable, NotFound
from salt_p2pdist.master.terminal import Painter


class FakeMinions:
    """master.minions.Minions: targets resolved from a table, answers given in advance."""

    def __init__(self, matches: dict[str, list[str]], answers: dict[str, Any] | None = None):
        self.matches, self.answers = matches, answers or {}
        self.asked: list[tuple[list[str], str, dict[str, Any]]] = []
        self.ran: list[tuple[list[str], str, list[Any], dict[str, Any] | None]] = []
        self.sent: list[tuple[list[str], str, dict[str, Any]]] = []

    def resolve(self, tgt: str, tgt_type: str) -> list[str]:
        return sorted(self.matches.get(tgt, []))

    def ask(self, targets: list[str], fun: str, kwarg: dict[str, Any], timeout: int,
            painter: Painter) -> dict[str, Any]:
        self.asked.append((targets, fun, kwarg))
        return {m: a for m, a in self.answers.items() if m in targets}

    def run(self, targets: list[str], fun: str, args: list[Any], kwarg: dict[str, Any] | None,
            timeout: int) -> dict[str, Any]:
        self.ran.append((targets, fun, args, kwarg))
        return {m: a for m, a in self.answers.items() if m in targets}

    def send(self, targets: list[str], fun: str, kwarg: dict[str, Any]) -> None:
        self.sent.append((targets, fun, kwarg))


class FakeAgent:
    """agent.client.AgentClient: answers from a table of (method, path) -> body; records calls."""

    def __init__(self, answers: dict[tuple[str, str], Any] | None = None, alive: bool = True,
                 on_disk: list[str] | None = None):
        self.answers, self.running, self.on_disk = answers or {}, alive, on_disk or []
        self.calls: list[tuple[str, str, Any]] = []
        self.started = 0

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             timeout: float = 30) -> Any:
        if not self.running:
            raise AgentUnavailable("the agent is not running")
        self.calls.append((method, path, body))
        if (method, path) not in self.answers:
            raise NotFound(f"{method} {path}")
        return self.answers[(method, path)]

    def alive(self, timeout: float = 3) -> bool:
        return self.running

    def has_process(self) -> bool:
        return self.running

    def start(self) -> None:  # started at once here: ensure() then finds it running
        self.ensure()

    def ensure(self) -> dict[str, Any]:
        if not self.running:
            self.started += 1
            self.running = True
        return {}

    def stop(self) -> None:
        self.running = False

    def held_on_disk(self) -> list[str]:
        return list(self.on_disk)


class FakeMinionSalt:
    """minion.host.MinionSalt: events, schedules and beacons kept in lists."""

    def __init__(self) -> None:
        self.fired: list[tuple[str, dict[str, Any]]] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.ran_jobs: list[str] = []
        self.beacon_config: dict[str, list[dict[str, Any]]] = {}

    def fire_master(self, data: dict[str, Any], tag: str) -> None:
        self.fired.append((tag, data))

    def schedules(self) -> dict[str, Any]:
        return dict(self.jobs)

    def add_schedule(self, name: str, **job: Any) -> None:
        self.jobs[name] = job

    def delete_schedule(self, name: str) -> None:
        self.jobs.pop(name, None)

    def run_job(self, name: str) -> None:
        self.ran_jobs.append(name)

    def beacons(self) -> dict[str, Any]:
        return dict(self.beacon_config)

    def add_beacon(self, name: str, config: list[dict[str, Any]]) -> None:
        self.beacon_config[name] = config

    def delete_beacon(self, name: str) -> None:
        self.beacon_config.pop(name, None)


def salt_keypair(directory: Path, private: str, public: str) -> tuple[Path, Path]:
    """An RSA key pair laid out like Salt's (private PKCS#1, public SPKI)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    directory.mkdir(parents=True, exist_ok=True)
    priv, pub = directory / private, directory / public
    priv.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    return priv, pub
