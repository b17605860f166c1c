"""The config files of a throwaway Salt master and its minions (see saltlab.py).

Every path sits under the lab's root directory and the daemons run as the
current user on free loopback ports, so labs run side by side without root.
"""

from __future__ import annotations

import json
import os
import pwd
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Throwaway-lab speed-ups: minions retry authentication every second instead of every 10 s
# and skip the random back-off that protects real masters from reconnect storms.
MINION_DEFAULTS: dict[str, Any] = {
    "acceptance_wait_time": 1, "acceptance_wait_time_max": 2, "random_reauth_delay": 0,
    "recon_default": 200, "recon_max": 1000, "recon_randomize": False,
    "return_retry_timer": 1, "return_retry_timer_max": 2, "loop_interval": 1,
}  # fmt: skip
# Three MWorkers instead of five: plenty for a lab, and ~100 MB less memory.
MASTER_DEFAULTS: dict[str, Any] = {"auto_accept": True, "worker_threads": 3}
# Unix socket paths are limited to 107 bytes, and Salt's socket names
# (minion_event_<hash>_pull.ipc, workers-<pool>-<n>.ipc) take up to ~35 of them.
_MAX_SOCK_DIR = 70


class SaltLabError(RuntimeError):
    """A daemon did not start or died, or a CLI gave output we cannot use."""


@dataclass(frozen=True)
class MinionSpec:
    """One minion: its id, static grains, and extra minion config merged over ours."""

    id: str
    grains: dict[str, Any] = field(default_factory=dict)
    opts: dict[str, Any] = field(default_factory=dict)
    netns: str | None = None  # run under `ip netns exec <netns>` (the WAN lab; needs root)


def free_port() -> int:
    # Racy (the port is free again before Salt binds it) but fine for a lab: a clash
    # shows up as a master that dies at start, with the reason in its log.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(lab_root: Path, name: str, kind: str, daemon_root: Path,
                 opts: dict[str, Any]) -> dict[str, Any]:
    """Write ``<daemon_root>/conf/<kind>``: our paths and defaults, then ``opts``."""
    sock_dir = daemon_root / "sock"
    if len(str(sock_dir)) > _MAX_SOCK_DIR:
        raise SaltLabError(f"{sock_dir} is too long for Unix sockets; use a shorter lab root")
    config = {
        "user": pwd.getpwuid(os.geteuid()).pw_name,
        # Salt prefixes root_dir to every path outside it, even absolute ones, so
        # root_dir is the lab root and each daemon's paths sit below it.
        "root_dir": str(lab_root),
        "pki_dir": str(daemon_root / "pki"),
        "cachedir": str(daemon_root / "cache"),
        "extension_modules": str(daemon_root / "cache" / "extmods"),
        "sock_dir": str(sock_dir),
        "pidfile": str(daemon_root / f"salt-{kind}.pid"),
        "log_file": str(lab_root / "logs" / f"{name}.log"),
        "key_logfile": str(lab_root / "logs" / "key.log"),
        "log_level_logfile": "info",
        # The defaults (/srv/salt, /srv/pillar) are not prefixed with root_dir.
        "file_roots": {"base": [str(daemon_root / "srv" / "salt")]},
        "pillar_roots": {"base": [str(daemon_root / "srv" / "pillar")]},
        **opts,
    }
    for path in [sock_dir, *config["file_roots"]["base"], *config["pillar_roots"]["base"]]:
        Path(path).mkdir(parents=True, exist_ok=True)
    (daemon_root / "conf").mkdir(parents=True, exist_ok=True)
    # JSON is valid YAML, and it spares this module a YAML dependency.
    (daemon_root / "conf" / kind).write_text(json.dumps(config, indent=2) + "\n")
    return config
