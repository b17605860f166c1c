"""The p2pdist scenario: a real Salt master at HQ, a real minion in every client.

The master knows the lab's sites (one per branch LAN) from its config, so its
tracker keeps each branch's traffic on its LAN and lets one WAN fetcher per
site pull across the branch link. Completion is timed by watching each
client's destination: p2pdist moves a file there only once every piece is
verified, so its appearance is the moment the client is done.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from lab.scenarios import register
from lab.topology import Lab, site_lan
from salt_p2pdist.testing.agents import stop_agents_under
from salt_p2pdist.testing.saltlab import MinionSpec, SaltLab

POLL_S = 0.1


def lab_sites(lab: Lab) -> dict[str, Any]:
    """One p2pdist site per branch LAN, all in one region (the branches), with its link rates."""
    return {site.name: {"networks": [f"{site_lan(k)}.0/24"], "parent": "branches",
                        "down": site.down_mbit, "up": site.up_mbit}
            for k, site in enumerate(lab.sites, start=1)}


def first_block_on_disk(salt: SaltLab, lab: Lab) -> bool:
    """True once a branch client's staging file holds data.

    libtorrent writes a piece's blocks as they arrive and checks the piece
    when it is whole, so this is within one piece of the first verified piece.
    """
    for c in lab.clients:
        staging = salt.minion_root(c.name) / "cache" / "p2pdist" / "staging"
        for f in staging.rglob("*") if staging.is_dir() else ():
            with contextlib.suppress(OSError):
                if f.is_file() and f.stat().st_blocks > 0:
                    return True
    return False


def keep_agent_logs(salt_root: Path, log_dir: Path) -> None:
    """Each agent's log (the origin's has the tracker's seat changes) beside the lab's logs."""
    for log in salt_root.rglob("agent.log"):
        name = log.parent.name if log.parent.name == "origin" else log.parents[2].name
        with contextlib.suppress(OSError):
            shutil.copyfile(log, log_dir / f"p2pdist-agent-{name}.log")


@register
class P2PDist:
    name: ClassVar[str] = "p2pdist"
    tools: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.salt: SaltLab | None = None
        self.first_piece_s: float | None = None  # read by the harness

    def prepare(self, lab: Lab) -> None:
        root = lab.hq_dir / "salt"
        # p2pdist as a user gets it: only where to listen and where files may go are set,
        # every product setting (announce and report intervals...) keeps its default.
        master = {"event_return": "p2pdist", "p2pdist": {
            "tracker_host": lab.hq_ip, "bt_interface": lab.hq_ip,
            "allowed_dest": ["/"],  # each client's dest_prefix is its own directory
            "sites": lab_sites(lab), "wan": lab.params.layout.wan,
            "hq": {"up": lab.params.layout.hq_up, "down": lab.params.layout.hq_down}}}
        self.salt = SaltLab(root, master_opts=master, master_netns=lab.hq_ns,
                            master_host=lab.hq_ip)
        minions = [MinionSpec(id=c.name, netns=c.ns, opts={"p2pdist": {
            "bt_interface": c.ip, "dest_prefix": str(c.dir)}})
            for c in lab.clients]
        self.salt.start(minions, timeout=300)
        # Agents are long-lived on real minions; start them before the clock runs.
        self.salt.salt("*", "p2pdist.report", timeout=120)

    def run(self, lab: Lab) -> dict[str, float | None]:
        assert self.salt is not None
        self.first_piece_s = None  # this run's (the scenario object serves every run)
        start = time.monotonic()
        salt = self.salt
        pushed: dict[str, Any] = {}
        # The runner returns once every minion answered the order; transfers
        # start as each one accepts, so completion is watched meanwhile.
        pusher = threading.Thread(target=lambda: pushed.update(salt.salt_run(
            "p2pdist.push", str(lab.payload), timeout=300, kwargs={"tgt": "*", "dest": "/"})))
        pusher.start()
        try:
            done: dict[str, float | None] = dict.fromkeys(c.name for c in lab.clients)
            deadline = start + lab.params.timeout_s
            while time.monotonic() < deadline and None in done.values():
                for c in lab.clients:
                    if done[c.name] is None and lab.dest(c).exists():
                        done[c.name] = time.monotonic() - start
                if self.first_piece_s is None and first_block_on_disk(salt, lab):
                    self.first_piece_s = time.monotonic() - start
                if not pusher.is_alive() and not pushed.get("result"):
                    raise RuntimeError(f"p2pdist.push failed: {pushed}")
                time.sleep(POLL_S)
            pusher.join()
            return done
        finally:
            self.salt.stop()
            stop_agents_under(lab.hq_dir / "salt")
            keep_agent_logs(lab.hq_dir / "salt", lab.log_dir)
