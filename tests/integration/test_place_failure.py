"""A destination that refuses the files fails that one distribution, with the reason.

Real agents and libtorrent on loopback. One download's dest directory is
read-only (immutable when the tests run as root, whom modes do not stop): the
download completes in staging, the move into dest fails, and its status says
why while the agent's API and the other distribution go on. Nothing is left at
that dest; once it is writable, ordering the same content again places it.
"""

from __future__ import annotations

import base64
import functools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.testing import waiting
from salt_p2pdist.testing.agents import stop_agents_under
from salt_p2pdist.torrent import creation, metainfo


def read_only(path: Path, on: bool) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True)
    else:
        path.chmod(0o555 if on else 0o755)


wait_for = functools.partial(waiting.wait_for, timeout=60, every=0.2)


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    stop_agents_under(tmp_path)


def test_a_read_only_dest_fails_one_distribution_and_nothing_else(root: Path) -> None:
    origin = AgentClient(root / "origin", "origin", [
        "--bt-interface", "127.0.0.1", "--tracker-port", "0", "--tracker-interface", "127.0.0.1",
        "--announce-interval", "2"])
    tracker = f"http://127.0.0.1:{origin.ensure()['tracker_port']}/announce"
    torrents = {}
    for name in ("blocked.bin", "fine.bin"):
        src = root / "src" / name
        src.parent.mkdir(exist_ok=True)
        src.write_bytes(os.urandom(1 << 20))
        torrent = creation.create_in_subprocess(src, tracker)
        torrents[name] = (metainfo.describe(torrent).dist_id, base64.b64encode(torrent).decode())
        origin.call("POST", "/dists", {"mode": "seed", "torrent": torrents[name][1],
                                       "source": str(src), "targets": ["m1"], "upload_limit": 0})
    fetcher = AgentClient(root / "m1", "m1", ["--bt-interface", "127.0.0.2"])
    fetcher.ensure()
    blocked, fine = root / "blocked", root / "fine"
    blocked.mkdir()
    read_only(blocked, True)
    try:
        order = {"mode": "fetch", "torrent": torrents["blocked.bin"][1], "dest": str(blocked)}
        fetcher.call("POST", "/dists", order)
        fetcher.call("POST", "/dists", {"mode": "fetch", "torrent": torrents["fine.bin"][1],
                                        "dest": str(fine)})
        dist_id = torrents["blocked.bin"][0]
        failed = wait_for("the failure in status", lambda: (
            st := fetcher.call("GET", f"/dists/{dist_id}"))["state"] == "failed" and st)
        assert "cannot place" in failed["error"] and str(blocked) in failed["error"], failed
        assert any(why in failed["error"] for why in ("not permitted", "permission denied")), failed
        # The API answers for every distribution, and the other one arrives.
        wait_for("the other copy", lambda: fetcher.call("GET", "/dists")[torrents["fine.bin"][0]]
                 ["state"] == "seeding")
        assert (fine / "fine.bin").read_bytes() == (root / "src" / "fine.bin").read_bytes()
        assert list(blocked.iterdir()) == []  # nothing half-written there
        # Tried once, not again and again in a loop on its own.
        assert (root / "m1" / "agent.log").read_text().count(f"finishing {dist_id} failed") == 1
    finally:
        read_only(blocked, False)
    fetcher.call("POST", "/dists", order)  # ordered again, e.g. by a re-push: placed now
    wait_for("the copy once dest is writable", lambda: (blocked / "blocked.bin").exists())
    assert (blocked / "blocked.bin").read_bytes() == (root / "src" / "blocked.bin").read_bytes()
    wait_for("seeding from dest", lambda: fetcher.call("GET", f"/dists/{dist_id}")["state"] == "seeding")
