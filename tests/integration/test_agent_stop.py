"""Stopping a real agent mid-download through its API, then starting it again: it resumes.

Real agents and libtorrent on loopback: an origin (tracker + seed, serving at
2 MiB/s) and a fetching agent. The fetcher is stopped the portable way (no
signal), so it saves resume data and marks the stop clean; started again, it
trusts that data (no re-check of the staged pieces) and fetches only the rest.
"""

from __future__ import annotations

import base64
import functools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from salt_p2pdist.agent import stopping
from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.testing import waiting
from salt_p2pdist.testing.agents import stop_agents_under
from salt_p2pdist.torrent import creation, metainfo

SIZE = 16 << 20
RATE = 2 << 20  # bytes/s the origin serves: the download lasts about 8 s


wait_for = functools.partial(waiting.wait_for, timeout=60, every=0.2)


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    stop_agents_under(tmp_path)


def test_stopped_through_the_api_mid_download_it_resumes_without_a_recheck(root: Path) -> None:
    origin = AgentClient(root / "origin", "origin", [
        "--bt-interface", "127.0.0.1", "--tracker-port", "0", "--tracker-interface", "127.0.0.1",
        "--announce-interval", "2"])
    tracker = f"http://127.0.0.1:{origin.ensure()['tracker_port']}/announce"
    src = root / "src" / "big.bin"
    src.parent.mkdir()
    src.write_bytes(os.urandom(SIZE))
    torrent = creation.create_in_subprocess(src, tracker)
    dist_id, b64 = metainfo.describe(torrent).dist_id, base64.b64encode(torrent).decode()
    origin.call("POST", "/dists", {"mode": "seed", "torrent": b64, "source": str(src),
                                   "targets": ["m1"], "upload_limit": RATE})
    state = root / "m1"
    fetcher = AgentClient(state, "m1", ["--bt-interface", "127.0.0.2"])
    fetcher.ensure()
    dest = root / "dest"
    fetcher.call("POST", "/dists", {"mode": "fetch", "torrent": b64, "dest": str(dest)})
    wait_for("a quarter downloaded",
             lambda: fetcher.call("GET", f"/dists/{dist_id}")["bytes_done"] > SIZE // 4)

    first = fetcher.ensure()
    outcome = fetcher.stop_outcome()  # what p2pdist.stop_agent answers
    assert (outcome.result, outcome.was_running, outcome.pid) == (True, True, first["pid"])
    assert "stopped cleanly" in outcome.comment
    assert not stopping.running(first, lambda: True)  # the process has exited
    assert (state / "clean_stop").exists()  # resume data saved and marked trustworthy
    assert (state / "dists" / dist_id / "resume.dat").exists()
    assert not (dest / "big.bin").exists()
    again = fetcher.stop_outcome()  # nothing runs now: a success that says so
    assert (again.result, again.was_running) == (True, False) and "was not running" in again.comment

    fetcher.ensure()
    # The engine took the clean stop into account (and removed the marker for the next crash).
    assert not (state / "clean_stop").exists()
    wait_for("the copy at dest", lambda: (dest / "big.bin").exists())
    # The staged pieces were trusted, not hashed again (the engine logs every re-check).
    assert "re-checking staged pieces" not in (state / "agent.log").read_text()
    assert (dest / "big.bin").read_bytes() == src.read_bytes()
    served = origin.call("GET", f"/dists/{dist_id}")["uploaded"]
    assert served <= 1.10 * SIZE, f"the origin served {served / SIZE:.3f} x the size"
