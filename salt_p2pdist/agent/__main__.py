"""Run the agent: ``python -m salt_p2pdist.agent --state-dir DIR --host-id ID``.

Normally started by the Salt modules (``p2pdist`` execution module on a
minion, the ``p2pdist`` runner on the master), not by hand.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import sys
import threading
from pathlib import Path

from salt_p2pdist.agent import memory, winsession
from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.lock import SingleInstance
from salt_p2pdist.agent.stopping import own_start_time
from salt_p2pdist.files.secretfile import private_dir, write_private

# How long a Windows end-of-session or close message waits for the clean stop (client.py's
# STOP_TIMEOUT_S); Windows may end the process sooner, and the next start then re-checks.
SESSION_END_WAIT_S = 60.0


def parse_args(argv: list[str]) -> AgentConfig:
    p = argparse.ArgumentParser(prog="p2pdist-agent")
    p.add_argument("--state-dir", required=True, type=Path)
    p.add_argument("--host-id", required=True)
    p.add_argument("--bt-interface", default="0.0.0.0")
    p.add_argument("--bt-port", type=int, default=0)
    p.add_argument("--outgoing-interface", default="")
    p.add_argument("--tracker-port", type=int)
    p.add_argument("--tracker-interface", default="0.0.0.0")
    p.add_argument("--tracker-name", action="append", default=[],
                   help="a host name or address minions use to reach the tracker (repeatable)")
    p.add_argument("--announce-interval", type=int, default=30)
    p.add_argument("--announce-budget", type=float, default=50.0,
                   help="announces/s the tracker may spend asking downloading hosts back sooner")
    p.add_argument("--known-hosts-dir", type=Path)
    p.add_argument("--fetchers-per-site", type=int, default=1)
    p.add_argument("--stall-after", type=float, default=60.0)
    p.add_argument("--salt-key", type=Path)
    p.add_argument("--ca-dir", type=Path)
    p.add_argument("--admit-minions", action="store_true",
                   help="admit every accepted minion to every swarm, not only the admitted ones")
    p.add_argument("--audit-log", type=Path)
    a = p.parse_args(argv)
    cfg = AgentConfig(state_dir=a.state_dir.resolve(), host_id=a.host_id, bt_interface=a.bt_interface,
                      bt_port=a.bt_port, outgoing_interface=a.outgoing_interface,
                      tracker_port=a.tracker_port, tracker_interface=a.tracker_interface,
                      tracker_names=tuple(a.tracker_name),
                      announce_interval=a.announce_interval, announce_budget=a.announce_budget,
                      known_hosts_dir=a.known_hosts_dir,
                      fetchers_per_site=a.fetchers_per_site, stall_after=a.stall_after,
                      salt_key=a.salt_key, ca_dir=a.ca_dir, admit_minions=a.admit_minions,
                      audit_log=a.audit_log)
    cfg.validate()
    return cfg


def main(argv: list[str]) -> int:
    cfg = parse_args(argv)
    memory.limit_arenas()  # before libtorrent's threads and ours
    private_dir(cfg.state_dir)  # orders with certificates and tokens, keys, agent.json
    # UTF-8 always: Windows would write cp1252 and fail on a file name outside it.
    logging.basicConfig(filename=cfg.state_dir / "agent.log", encoding="utf-8", level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with SingleInstance(cfg.state_dir / "agent.lock") as got:
        if not got:
            print("another p2pdist agent holds this state dir", file=sys.stderr)
            return 0
        from salt_p2pdist.agent.app import Agent

        stop = threading.Event()
        # The API's shutdown call is the portable way; signals stay for service managers and Ctrl-C.
        agent = Agent(cfg, token=secrets.token_hex(16), on_shutdown=stop.set)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        # "started" tells this process apart from a later one given the same pid (stopping.py).
        endpoint = {"pid": os.getpid(), "started": own_start_time(),
                    "api_port": agent.api_port, "token": agent.token,
                    "bt_port": agent.engine.listen_port, "ssl_port": agent.engine.ssl_port,
                    "tracker_port": agent.tracker_port}
        write_private(cfg.endpoint_file, json.dumps(endpoint).encode())  # holds the API token
        logging.info("agent %s up: %s", cfg.host_id, {k: v for k, v in endpoint.items() if k != "token"})
        stopped = threading.Event()

        def stop_and_wait() -> None:  # the window's thread: Windows may end us once it returns
            stop.set()
            stopped.wait(SESSION_END_WAIT_S)

        winsession.watch(stop_and_wait)  # logoff, shutdown, service stop (Windows only)
        stop.wait()
        try:
            agent.close()
            cfg.endpoint_file.unlink(missing_ok=True)
        finally:
            stopped.set()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
