"""Helpers of the Windows tier: a closed swarm with a Linux origin and Windows agents.

The origin has its tracker and swarm CA, as lab/closedswarm.py sets it up; Windows agents
get their Salt key in ``C:\\`` and are started and stopped by the Windows-side
AgentClient, as the Salt module does there.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab import closedswarm
from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.testing.agents import stop_agents_under
from salt_p2pdist.testing.wine import WindowsHost
from salt_p2pdist.torrent import creation, metainfo

HOSTS = ["win1", "win2", "win3", "win4", "lin1", "lin2"]


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)


@dataclass
class WinAgent:
    """A Windows agent: its state dir as Windows names it, and a Linux-side API client."""
    host: WindowsHost
    host_id: str
    root: str  # C:\p2ptest\<run>\<host_id>
    args: list[str]
    api: AgentClient = field(init=False)

    def __post_init__(self) -> None:
        self.api = AgentClient(self.host.linux_path(self.state_dir), self.host_id)

    @property
    def state_dir(self) -> str:
        return self.root + "\\state"

    def start(self) -> None:
        self.host.ensure_agent(self.state_dir, self.host_id, self.args)

    def status(self, dist_id: str) -> dict[str, Any]:
        return dict(self.api.call("GET", f"/dists/{dist_id}"))


class Swarm:
    """A Linux origin (tracker, swarm CA) and the agents of one test module."""

    def __init__(self, root: Path, windows: WindowsHost):
        self.root, self.windows = root, windows
        self.win_root = f"C:\\p2ptest\\{uuid.uuid4().hex[:8]}"
        closedswarm.make_keys(root, HOSTS)
        self.origin = AgentClient(root / "origin", "origin", [
            "--bt-interface", "127.0.0.1", "--tracker-port", "0", "--tracker-interface", "127.0.0.1",
            "--announce-interval", "5", *closedswarm.origin_args(root)])
        self.tracker = f"https://127.0.0.1:{self.origin.ensure()['tracker_port']}/announce"
        self.win_agents: list[WinAgent] = []

    def publish(self, source: Path, upload_limit: int = 0) -> tuple[str, str]:
        """Seed ``source`` from the origin in the closed swarm: (torrent base64, dist_id)."""
        torrent = creation.create_in_subprocess(source, self.tracker, closedswarm.ca_file(self.root))
        b64, dist_id = base64.b64encode(torrent).decode(), metainfo.describe(torrent).dist_id
        self.origin.call("POST", "/dists", {"mode": "seed", "torrent": b64, "source": str(source),
                                            "targets": HOSTS, "upload_limit": upload_limit})
        return b64, dist_id

    def windows_agent(self, host_id: str, ip: str) -> WinAgent:
        root = f"{self.win_root}\\{host_id}"
        key = self.windows.linux_path(root + "\\minion.pem")  # stands in for Salt's pki_dir key
        key.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.root / "keys" / f"{host_id}.pem", key)
        agent = WinAgent(self.windows, host_id, root, ["--bt-interface", ip, "--outgoing-interface", ip,
                                                       "--salt-key", root + "\\minion.pem"])
        self.win_agents.append(agent)
        agent.start()
        return agent

    def linux_agent(self, host_id: str, ip: str) -> AgentClient:
        agent = AgentClient(self.root / host_id, host_id, ["--bt-interface", ip, "--outgoing-interface", ip,
                                                           *closedswarm.agent_args(self.root, host_id)])
        agent.ensure()
        return agent

    def close(self) -> None:
        for agent in self.win_agents:
            self.windows.kill_agent(agent.state_dir)
            for log in ("agent.log", "agent.out"):  # pytest shows them when the test failed
                path = self.windows.linux_path(f"{agent.state_dir}\\{log}")
                text = path.read_text(errors="replace") if path.exists() else "(none)"
                print(f"--- {agent.host_id} {log} ---\n" + "\n".join(text.splitlines()[-30:]))
        stop_agents_under(self.root)
        shutil.rmtree(self.windows.linux_path(self.win_root), ignore_errors=True)


class HeldOpen:
    """A Windows process holding a file open, as an installer or antivirus scan does.

    Python's ``open`` on Windows shares read and write but not delete: replacing or
    removing the file fails (WinError 5 or 32) until the holder closes it.
    """

    def __init__(self, windows: WindowsHost, win_path: str):
        code = f"f = open({win_path!r}, 'rb'); print('held', flush=True); import time; time.sleep(600)"
        self.proc = subprocess.Popen(["wine", str(windows.python_exe), "-c", code], env=windows.env(),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if b"held" not in line:
            raise RuntimeError(f"could not hold {win_path} open: {line!r}")

    def release(self) -> None:
        self.proc.kill()
        self.proc.wait()
