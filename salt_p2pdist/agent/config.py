"""The agent's configuration: one frozen object, validated once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from salt_p2pdist.core.errors import InvalidRequest

# The header that carries the API token; here, so a client does not import the server (and the tracker).
TOKEN_HEADER = "X-P2PDist-Token"


@dataclass(frozen=True, kw_only=True)
class AgentConfig:
    state_dir: Path  # orders, resume data, staging, the API endpoint file
    host_id: str  # the minion id (or "origin" on the master)
    bt_interface: str = "0.0.0.0"  # where peers connect to us
    bt_port: int = 0  # 0: any free port
    outgoing_interface: str = ""  # source address for peer connections (multi-homed hosts)
    api_port: int = 0  # loopback API; 0: any free port, published in agent.json
    tracker_port: int | None = None  # set on the master: also serve the swarm tracker
    tracker_interface: str = "0.0.0.0"
    # Names and addresses minions use to reach the tracker (its TLS certificate
    # lists them); the interface, this host's name and loopback are added.
    tracker_names: tuple[str, ...] = ()
    announce_interval: int = 30  # seconds between a seed's announces (tracker answer)
    announce_budget: float = 50.0  # tracker: announces/s for downloading hosts' short intervals
    known_hosts_dir: Path | None = None  # the master's accepted minion keys (pki_dir/minions)
    fetchers_per_site: int = 1  # tracker: WAN fetchers per site and swarm
    stall_after: float = 60.0  # tracker: seconds without progress before a fetcher is replaced
    salt_key: Path | None = None  # minion: its Salt private key, signs certificate requests
    ca_dir: Path | None = None  # master: the swarm CA, issues certificates to targets
    # master: every accepted minion may join every swarm (p2pdist:targets_only false)
    admit_minions: bool = False
    audit_log: Path | None = None  # master: certificates issued and refused are recorded here

    def validate(self) -> None:
        problems = []
        if not self.state_dir.is_absolute():
            problems.append(f"state_dir must be absolute, got {self.state_dir}")
        if not self.host_id:
            problems.append("host_id is empty")
        for name in ("bt_port", "api_port"):
            if not 0 <= getattr(self, name) < 65536:
                problems.append(f"{name} out of range")
        if self.announce_interval < 1:
            problems.append("announce_interval must be >= 1")
        if self.announce_budget <= 0:
            problems.append("announce_budget must be > 0")
        if problems:
            raise InvalidRequest("invalid agent configuration: " + "; ".join(problems))

    @property
    def staging_dir(self) -> Path:
        return self.state_dir / "staging"

    @property
    def dists_dir(self) -> Path:
        return self.state_dir / "dists"

    @property
    def endpoint_file(self) -> Path:
        return self.state_dir / "agent.json"
