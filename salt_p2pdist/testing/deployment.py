"""A throwaway p2pdist deployment on this machine: a Salt master and minions.

Shared by the demo and the integration tests: real salt-master and
salt-minion daemons on loopback with p2pdist configured, each minion with its
own loopback address (127.0.0.x), state directory and destination prefix.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
from pathlib import Path
from typing import Any

import psutil

from salt_p2pdist.testing.agents import stop_agents_under
from salt_p2pdist.testing.saltlab import MinionSpec, SaltLab, free_port


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def write_random(path: Path, size: int, seed: int = 0) -> Path:
    """A file of pseudo-random bytes (incompressible, reproducible)."""
    import random

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    with path.open("wb") as fh:
        left = size
        while left:
            n = min(left, 1 << 20)
            fh.write(rng.randbytes(n))
            left -= n
    return path


class Deployment(SaltLab):
    """SaltLab plus p2pdist settings, per-minion dest prefixes and agent clean-up."""

    def __init__(self, root: Path, *, master_p2pdist: dict[str, Any] | None = None, **kw: Any):
        self.tracker_port = free_port()
        p2p = {"tracker_port": self.tracker_port, "tracker_host": "127.0.0.1",
               "bt_interface": "127.0.0.1", "announce_interval": 5, "allowed_dest": ["/opt"],
               **(master_p2pdist or {})}
        master_opts = {"event_return": "p2pdist", "event_return_queue": 0, "p2pdist": p2p,
                       **kw.pop("master_opts", {})}
        super().__init__(root, master_opts=master_opts, **kw)

    def minion(self, minion_id: str, index: int, **p2pdist: Any) -> MinionSpec:
        """A minion with its own loopback address, as if it were its own host."""
        ip = f"127.0.0.{10 + index}"
        settings = {"bt_interface": ip, "outgoing_interface": ip, "report_interval": 1,
                    "dest_prefix": str(self.host_root(minion_id)), **p2pdist}
        return MinionSpec(id=minion_id, opts={"p2pdist": settings})

    def host_root(self, minion_id: str) -> Path:
        """Where this minion's '/' is, for dest paths."""
        return self.minion_root(minion_id) / "host"

    def copy_at(self, minion_id: str, dest: str, name: str) -> Path:
        return self.host_root(minion_id) / dest.lstrip("/") / name

    def crash(self, minion_id: str) -> None:
        """The host dies: its agent and salt-minion are SIGKILLed, nothing is said to anyone.

        The agent goes first and at once: it is what moves data, and SIGKILLing a
        salt-minion waits for its process group to be reaped (seconds on a busy
        machine), time in which a live agent would go on downloading. An agent the
        minion's schedule started again in the meantime dies too.
        """
        endpoint = self.minion_root(minion_id) / "cache" / "p2pdist" / "agent.json"

        def kill_agent() -> None:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError, KeyError):
                os.kill(int(json.loads(endpoint.read_text())["pid"]), signal.SIGKILL)

        kill_agent()
        self.stop_minion(minion_id, kill=True)
        kill_agent()
        # An agent the minion's beacon started just before the minion died may not have
        # written agent.json yet (seen in CI: it lived on and served the site-mate): found by
        # its state dir on its command line instead.
        for proc in self.agent_processes(minion_id):
            with contextlib.suppress(psutil.Error):
                proc.kill()

    def agent_processes(self, minion_id: str) -> list[psutil.Process]:
        """The live agents of ``minion_id``, found by the state dir on their command line."""
        state_dir = str(self.minion_root(minion_id) / "cache" / "p2pdist")
        return [proc for proc in psutil.process_iter(["cmdline"])
                if "salt_p2pdist.agent" in (proc.info["cmdline"] or [])
                and state_dir in (proc.info["cmdline"] or [])]

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            stop_agents_under(self.root)
