"""What both modes of the p2pdist scenario share: the master's config, first piece, agents' logs."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import cpuroles
from lab.topology import Lab, site_lan

POLL_S = 0.1


def lab_sites(lab: Lab) -> dict[str, Any]:
    """One p2pdist site per branch LAN, all in one region (the branches), with its link rates."""
    return {site.name: {"networks": [f"{site_lan(k)}.0/24"], "parent": "branches",
                        "down": site.down_mbit, "up": site.up_mbit}
            for k, site in enumerate(lab.sites, start=1)}


def master_section(lab: Lab) -> dict[str, Any]:
    """The master's p2pdist config as a user would write it for this lab.

    Only where to listen and where files may go are set, with the site map; every
    product setting (announce and report intervals...) keeps its default.
    """
    return {"tracker_host": lab.hq_ip, "bt_interface": lab.hq_ip,
            "allowed_dest": ["/"],  # each client's dest_prefix is its own directory
            "sites": lab_sites(lab), "wan": lab.params.layout.wan,
            "hq": {"up": lab.params.layout.hq_up, "down": lab.params.layout.hq_down}}


def first_block_on_disk(staging_dirs: list[Path]) -> bool:
    """True once a branch client's staging file holds data.

    libtorrent writes a piece's blocks as they arrive and checks the piece
    when it is whole, so this is within one piece of the first verified piece.
    """
    for staging in staging_dirs:
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


@dataclass
class Watched:
    done: dict[str, float | None]  # each client's seconds to its complete copy, None if never
    first_piece_s: float | None  # to the first piece at any client
    cpu_s_by_role: dict[str, float]  # CPU seconds per kind of process meanwhile (cpuroles.py)


def watch(lab: Lab, staging: list[Path], push: Callable[[], dict[str, Any]]) -> Watched:
    """Start the clock and ``push`` (the push command; returns its answer), and time the clients.

    The push command returns once every host answered the order; transfers
    start as each accepts, so completion is watched meanwhile. A push that
    failed stops the run.
    """
    before = cpuroles.reading(lab.namespaces)
    pushed: dict[str, Any] = {}

    def pushing() -> None:
        try:
            pushed.update(push())
        except Exception as exc:  # reported below
            pushed.update(result=False, error=f"{type(exc).__name__}: {exc}")

    start = time.monotonic()
    pusher = threading.Thread(target=pushing)
    pusher.start()
    try:
        first_piece: float | None = None
        done: dict[str, float | None] = dict.fromkeys(c.name for c in lab.clients)
        deadline = start + lab.params.timeout_s
        while time.monotonic() < deadline and None in done.values():
            for c in lab.clients:
                if done[c.name] is None and lab.dest(c).exists():
                    done[c.name] = time.monotonic() - start
            if first_piece is None and first_block_on_disk(staging):
                first_piece = time.monotonic() - start
            if not pusher.is_alive() and not pushed.get("result"):
                raise RuntimeError(f"p2pdist.push failed: {pushed}")
            time.sleep(POLL_S)
    finally:
        pusher.join()
    return Watched(done, first_piece, cpuroles.spent(before, cpuroles.reading(lab.namespaces)))
