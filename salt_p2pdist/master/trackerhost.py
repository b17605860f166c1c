"""Where minions reach the master's tracker, and how the origin agent is started (master side).

Kept out of the settings (core/config.py) because naming the tracker host can
take a DNS lookup of the master's own name.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.master.audit import audit_log


def tracker_name(cfg: MasterSettings, opts: dict[str, Any]) -> str:
    """The host minions reach the tracker at (its TLS certificate names it)."""
    host = cfg.tracker_host or str(opts.get("interface") or "")
    if host in ("", "0.0.0.0", "::"):
        host = socket.gethostbyname(socket.getfqdn())
    return host


def tracker_url(cfg: MasterSettings, opts: dict[str, Any]) -> str:
    # https: the tracker speaks TLS with a certificate from the swarm CA.
    return f"https://{tracker_name(cfg, opts)}:{cfg.tracker_port}/announce"


def origin_args(cfg: MasterSettings, opts: dict[str, Any]) -> list[str]:
    return ["--known-hosts-dir", str(Path(opts["pki_dir"]) / "minions"),
            "--tracker-name", tracker_name(cfg, opts),
            "--ca-dir", str(cfg.ca_dir),
            "--fetchers-per-site", str(cfg.wan_fetchers_per_site),
            "--stall-after", str(cfg.stall_after),
            "--bt-interface", cfg.bt_interface, "--bt-port", str(cfg.bt_port),
            "--tracker-port", str(cfg.tracker_port),
            "--announce-interval", str(cfg.announce_interval),
            "--announce-budget", str(cfg.announce_budget),
            "--audit-log", str(audit_log(cfg).path),
            *([] if cfg.targets_only else ["--admit-minions"])]
